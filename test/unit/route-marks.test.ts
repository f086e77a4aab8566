// policy/route-marks.ts: the nft chains that make routing follow the filter weights
// (issue 17). The netns test daemon-policy-weights.test.ts shows the effect on real
// traffic; this one pins the classification order and verdicts.
import t from 'tap';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import type { SitelinkConfig } from '../../firmware/src/config/types.ts';
import { expandConfig } from '../../firmware/src/policy/expand.ts';
import { generateRuleset } from '../../firmware/src/policy/nft.ts';
import { MARK_CLEAR, MARK_TABLE, MARK_TUN, ROUTE_TABLE } from '../../firmware/src/dataplane/routes.ts';
import { bypassSelectorsOf } from '../../firmware/src/policy/bypass.ts';

function load(text: string): SitelinkConfig {
  const r = loadConfigText('weights.conf', text, { secrets: false });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line} ${e.field} ${e.message}`).join('\n'));
  return r.config;
}

const CONF = `
filter-lists {
  lan { f { source = 10.1.0.0/24
            destination = 10.0.0.0/16 } }
  web { f { source = 10.1.0.0/24
            destination = 10.0.5.0/24
            protocol = tcp
            destination-ports = 443 } }
  host { f { source = 10.1.0.7
             destination = 10.0.0.9 } }
  broad { f { source = any
              destination = 10.0.0.0/8
              protocol = udp } }
}
peers { hq { remote = 198.51.100.2
             local-id = gwA.lab }
        dc { remote = 198.51.100.3
             local-id = gwA.lab } }
filter-actions {
  sec { action = negotiate
        security-methods = aes128gcm16 }
  pass { action = permit }
}
rules {
  to-hq { filters = lan
          action = sec
          peer = hq }
  web { filters = web
        action = sec
        peer = dc }
  clear-host { filters = host
               action = pass }
  clear-udp { filters = broad
              action = pass }
}
`;

function chain(text: string, name: string): string[] {
  const body = text.split(`chain ${name} {`)[1]?.split('\n  }')[0] ?? '';
  return body.split('\n').map((l) => l.trim()).filter(Boolean);
}

t.test('route marks follow the weights', async (t) => {
  const text = generateRuleset(expandConfig(load(CONF)), { tun: 'sl0', ikePort: 500, nattPort: 4500 });
  const pre = chain(text, 'route_pre');
  const out = chain(text, 'route_out');
  t.match(pre[0], /type filter hook prerouting priority mangle/);
  t.match(out[0], /type route hook output priority mangle/, 'local traffic is re-routed after marking');
  t.match(pre[1], /iifname "sl0" return/, 'what the engine decrypted is never marked back into the TUN');
  const ike = pre.findIndex((l) => /udp dport \{ 500, 4500 \} return/.test(l));
  const esp = pre.findIndex((l) => /meta l4proto esp return/.test(l));
  const first = pre.findIndex((l) => /comment "route /.test(l));
  t.ok(ike > 0 && esp > 0 && ike < first && esp < first, 'IKE, NAT-T and ESP are left alone before any filter');
  const clear = `meta mark set 0x${MARK_CLEAR.toString(16)} return`;
  const tun = `meta mark set 0x${MARK_TUN.toString(16)} return`;
  const at = (re: RegExp): number => pre.findIndex((l) => re.test(l));
  const host = at(/ip saddr 10\.1\.0\.7 ip daddr 10\.0\.0\.9 meta mark set/);
  const web = at(/ip daddr 10\.0\.5\.0\/24 tcp dport \{ 443 \} meta mark set/);
  const lan = at(/ip saddr 10\.1\.0\.0\/24 ip daddr 10\.0\.0\.0\/16 return/);
  const broad = at(/ip daddr 10\.0\.0\.0\/8 meta l4proto 17 meta mark set/);
  t.ok(host >= 0 && pre[host]!.includes(clear), 'the permit inside the tunnel subnets is marked for the clear path');
  t.ok(web >= 0 && pre[web]!.includes(tun), 'the port-specific negotiate filter is marked into the TUN');
  t.ok(lan >= 0 && !pre[lan]!.includes('meta mark'), 'a subnet negotiate filter stops classification unmarked (its route decides)');
  t.ok(broad >= 0 && pre[broad]!.includes(clear), 'the broad permit is marked clear');
  t.ok(host < lan && web < lan && lan < broad, 'most specific first: host permit, web negotiate, subnet negotiate, then the any->/8 permit');
  t.notOk(pre.some((l) => /ip saddr 10\.0\.0\.0\/16 ip daddr 10\.1\.0\.0\/24 return/.test(l)), 'the negotiate mirror is not classified');
  t.same(out.slice(2), pre.slice(2), 'output classifies like prerouting');
});

t.test('no negotiate rule: nothing is classified', async (t) => {
  const conf = CONF.replace(/to-hq \{[^}]*\}/, '').replace(/web \{ filters = web[^}]*\}/, '');
  const text = generateRuleset(expandConfig(load(conf)), { tun: 'sl0', ikePort: 500, nattPort: 4500 });
  t.notOk(chain(text, 'route_pre').some((l) => l.includes('meta mark set')), 'no marks without tunnels');
});

t.test('permit/block filters become the engine bypass selectors', async (t) => {
  const sels = bypassSelectorsOf(expandConfig(load(CONF)));
  t.same(sels.filter((s) => s.local === '10.1.0.7/32'), [{ local: '10.1.0.7/32', remote: '10.0.0.9/32' }], 'the host permit, forward');
  t.ok(sels.some((s) => s.local === '10.0.0.9/32' && s.remote === '10.1.0.7/32'), 'and its mirror');
  const udp = sels.some((s) => s.local === '0.0.0.0/0' && s.remote === '10.0.0.0/8' && s.protocol === 17);
  t.ok(udp, 'the udp permit (IPv4 only: its destination is IPv4)');
  t.notOk(sels.some((s) => s.remote === '10.0.5.0/24' || s.remote === '10.0.0.0/16'), 'negotiate filters are not bypass');
  t.notOk(sels.some((s) => s.local.includes(':') && s.remote.startsWith('10.')), 'no mixed families');
});

t.test('routing tables are numbers the board\'s busybox ip accepts', async (t) => {
  // busybox ip refuses a table ID above 255 ("invalid argument '5301' to 'table ID'"),
  // and 253-255 are default/main/local.
  for (const table of [ROUTE_TABLE, MARK_TABLE]) t.ok(table > 0 && table < 253, `table ${table}`);
  t.not(ROUTE_TABLE, MARK_TABLE);
});
