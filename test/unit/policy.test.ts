import t from 'tap';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import type { SitelinkConfig } from '../../firmware/src/config/types.ts';
import { expandConfig } from '../../firmware/src/policy/expand.ts';
import { classify } from '../../firmware/src/policy/classify.ts';
import { filterWeight } from '../../firmware/src/policy/weight.ts';
import { generateRuleset } from '../../firmware/src/policy/nft.ts';
import { tunnelsOf } from '../../firmware/src/policy/selectors.ts';

function load(text: string): SitelinkConfig {
  const r = loadConfigText('policy.conf', text, { secrets: false });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line} ${e.field} ${e.message}`).join('\n'));
  return r.config;
}

// The four filters in deliberately scrambled file order: weights, not order, decide.
const FOUR = `
filter-lists {
  host-smtp { f { source = any
                  destination = 192.0.2.25
                  protocol = tcp
                  destination-ports = 25
                  mirrored = no } }
  all       { f { source = any
                  destination = any
                  mirrored = no } }
  host      { f { source = any
                  destination = 192.0.2.25
                  mirrored = no } }
  subnet    { f { source = any
                  destination = 192.0.2.0/24
                  mirrored = no } }
}
filter-actions {
  permit { action = permit }
  block { action = block }
}
rules {
  r-host-smtp { filters = host-smtp
                action = permit }
  r-all       { filters = all
                action = permit }
  r-host      { filters = host
                action = block }
  r-subnet    { filters = subnet
                action = permit }
}
`;

t.test('four-filter example: strictly increasing weights', async (t) => {
  const c = load(FOUR);
  const w = (rule: string) => expandConfig(c).find((f) => f.rule === rule)?.weight ?? -1;
  const anyAny = w('r-all');
  const anySubnet = w('r-subnet');
  const anyHost = w('r-host');
  const anyHostTcp25 = w('r-host-smtp');
  t.ok(anyAny < anySubnet, `any<->any ${anyAny} < any<->subnet ${anySubnet}`);
  t.ok(anySubnet < anyHost, `any<->subnet ${anySubnet} < any<->host ${anyHost}`);
  t.ok(anyHost < anyHostTcp25, `any<->host ${anyHost} < any<->host tcp 25 ${anyHostTcp25}`);
  t.same(expandConfig(c).map((f) => f.rule), ['r-host-smtp', 'r-host', 'r-subnet', 'r-all'], 'sorted most specific first');
});

t.test('four-filter example: the classifier picks the most specific', async (t) => {
  const f = expandConfig(load(FOUR));
  const pick = (dst: string, protocol: number, dport?: number) =>
    classify(f, { source: '10.9.9.9', destination: dst, protocol, sourcePort: 40000, destinationPort: dport })?.rule;
  t.equal(pick('192.0.2.25', 6, 25), 'r-host-smtp', 'SMTP to the host');
  t.equal(pick('192.0.2.25', 6, 80), 'r-host', 'HTTP to the host');
  t.equal(pick('192.0.2.25', 17, 25), 'r-host', 'UDP 25 to the host');
  t.equal(pick('192.0.2.26', 6, 25), 'r-subnet', 'another host in the subnet');
  t.equal(pick('198.51.100.7', 1), 'r-all', 'elsewhere');
  // Order-independence: classify over a reversed list gives the same answers.
  const rev = [...f].reverse();
  t.equal(classify(rev, { source: '1.1.1.1', destination: '192.0.2.25', protocol: 6, destinationPort: 25 })?.rule, 'r-host-smtp');
});

t.test('weight formula details', async (t) => {
  const base = { protocol: 0, sourcePorts: [], destinationPorts: [] };
  const any = { kind: 'any' } as const;
  const sub = (prefix: number) => ({ kind: 'subnet', address: '10.0.0.0', prefix, family: 4 }) as const;
  t.ok(
    filterWeight({ ...base, source: any, destination: sub(16) }) < filterWeight({ ...base, source: any, destination: sub(24) }),
    'longer prefix is heavier',
  );
  t.equal(
    filterWeight({ ...base, source: any, destination: { kind: 'me' } }),
    filterWeight({ ...base, source: any, destination: { kind: 'host', address: '10.0.0.1', family: 4 } }),
    'me counts as a host',
  );
  t.ok(
    filterWeight({ ...base, source: any, destination: sub(31) }) <
      filterWeight({ ...base, source: any, destination: { kind: 'host', address: '10.0.0.1', family: 4 } }),
    'a /31 is lighter than a host',
  );
  t.ok(
    filterWeight({ ...base, protocol: 6, source: any, destination: sub(24) }) <
      filterWeight({ ...base, source: any, destination: sub(25) }),
    'addresses dominate protocol',
  );
});

t.test('ties: block beats permit, then file order; mirrored filters add the reverse', async (t) => {
  const c = load(`
filter-lists { a { f { source = 10.1.0.0/24
                       destination = 10.2.0.0/24 } } }
filter-actions { p { action = permit }
                 b { action = block } }
rules { first { filters = a
                action = p }
        second { filters = a
                 action = b } }
`);
  const f = expandConfig(c);
  t.equal(f.length, 4, 'two rules x forward + mirror');
  t.equal(classify(f, { source: '10.1.0.5', destination: '10.2.0.9', protocol: 6 })?.rule, 'second', 'block wins the tie');
  t.equal(classify(f, { source: '10.2.0.9', destination: '10.1.0.5', protocol: 6 })?.direction, 'mirror', 'reverse matches the mirror');
});

t.test('"me" resolves to gateway addresses', async (t) => {
  const c = load(`
filter-lists { ssh { f { source = 10.1.0.0/24
                          destination = me
                          protocol = tcp
                          destination-ports = 22 } } }
filter-actions { p { action = permit } }
rules { r { filters = ssh
            action = p } }
`);
  const f = expandConfig(c);
  t.equal(classify(f, { source: '10.1.0.3', destination: '10.1.0.1', protocol: 6, destinationPort: 22 }, ['10.1.0.1'])?.rule, 'r');
  t.equal(classify(f, { source: '10.1.0.3', destination: '10.1.0.2', protocol: 6, destinationPort: 22 }, ['10.1.0.1']), null);
  const resolved = expandConfig(c, { localAddresses: ['10.1.0.1', '2001:db8::1'] });
  t.same(
    resolved.filter((x) => x.direction === 'forward').map((x) => x.destination),
    [{ kind: 'host', address: '10.1.0.1', family: 4 }],
    'only the matching family',
  );
});

const MIXED = `
filter-lists {
  lan { f { source = 10.1.0.0/24
            destination = 10.0.0.0/16 } }
  web { f { source = 10.1.0.0/24
            destination = 10.0.5.0/24
            protocol = tcp
            destination-ports = 80, 8000-8080 } }
  telnet { f { source = any
               destination = any
               protocol = tcp
               destination-ports = 23 } }
}
peers { hq { remote = 198.51.100.2
             local-id = gwA.lab } }
filter-actions {
  sec { action = negotiate
        security-methods = aes128gcm16
        fallback-to-clear = no }
  block { action = block }
}
rules {
  to-hq { filters = lan
          action = sec
          peer = hq }
  web   { filters = web
          action = sec
          peer = hq }
  no-telnet { filters = telnet
              action = block }
}
`;

t.test('nftables ruleset text', async (t) => {
  const text = generateRuleset(expandConfig(load(MIXED)), { tun: 'sl0', ikePort: 500, nattPort: 4500 });
  t.match(text, /^table inet sitelink\ndelete table inet sitelink\ntable inet sitelink \{$/m, 'atomic replace');
  t.match(text, /udp dport \{ 500, 4500 \} accept/);
  t.match(text, /chain input \{\n.*\n    iifname "lo" accept/, 'loopback exempt first');
  for (const ch of ['input', 'output'])
    t.match(text.split(`chain ${ch} {`)[1]?.split('}\n')[0] ?? '', /icmpv6 type \{ nd-neighbor-solicit, nd-neighbor-advert, .*packet-too-big \} accept/, `IPv6 ND and Packet Too Big exempt in ${ch}`);
  t.match(text, /tcp dport \{ 23 \} drop comment "no-telnet/);
  t.match(text, /ip saddr 10\.1\.0\.0\/24 ip daddr 10\.0\.5\.0\/24 tcp dport \{ 80, 8000-8080 \} oifname "sl0" accept/);
  t.match(text, /ip saddr 10\.1\.0\.0\/24 ip daddr 10\.0\.0\.0\/16 drop/, 'negotiate traffic never leaves in clear');
  const fwd = text.split('chain forward')[1] ?? '';
  t.ok(fwd.indexOf('10.0.5.0/24') < fwd.indexOf('10.0.0.0/16'), 'more specific first');
  t.ok(fwd.indexOf('10.0.5.0/24') < fwd.indexOf('dport { 23 }'), 'subnet pair before the any<->any telnet block');
});

t.test('negotiate rules become traffic selectors', async (t) => {
  const tunnels = tunnelsOf(load(MIXED));
  t.same(tunnels.map((x) => [x.rule, x.peer]), [['to-hq', 'hq'], ['web', 'hq']]);
  t.same(tunnels[0]?.selectors, [{ local: '10.1.0.0/24', remote: '10.0.0.0/16' }]);
  t.same(tunnels[1]?.selectors, [
    { local: '10.1.0.0/24', remote: '10.0.5.0/24', protocol: 6, remotePorts: [80, 80] },
    { local: '10.1.0.0/24', remote: '10.0.5.0/24', protocol: 6, remotePorts: [8000, 8080] },
  ]);
});

t.test('IPv6 filters: ip6 matches, selectors with ::/0', async (t) => {
  const c = load(`
peers { hq { remote = 198.51.100.2
             local-id = gwA.lab } }
filter-lists {
  v6 { f { source = 2001:db8:1::/48
           destination = any } }
  icmp6 { f { source = any
              destination = 2001:db8:1::1
              protocol = icmpv6 } }
}
filter-actions { sec { action = negotiate }
                 p { action = permit } }
rules { t6 { filters = v6
             action = sec
             peer = hq }
        ping { filters = icmp6
               action = p } }
`);
  const text = generateRuleset(expandConfig(c), { tun: 'sl0', ikePort: 500, nattPort: 4500 });
  t.match(text, 'ip6 saddr 2001:db8:1::/48 oifname "sl0" accept');
  t.match(text, 'ip6 daddr 2001:db8:1::1 meta l4proto 58 accept');
  t.same(tunnelsOf(c)[0]?.selectors, [{ local: '2001:db8:1::/48', remote: '::/0' }]);
  const f = expandConfig(c);
  t.equal(classify(f, { source: '2001:db8:9::5', destination: '2001:db8:1::1', protocol: 58 })?.rule, 'ping');
  t.equal(classify(f, { source: '2001:db8:1::7', destination: '2001:db8:2::1', protocol: 6 })?.rule, 't6');
});

t.test('mixed address families in one filter are refused', async (t) => {
  const r = loadConfigText('m.conf', `
filter-lists { l { f { source = 10.0.0.0/8
                       destination = 2001:db8::/32 } } }
filter-actions { p { action = permit } }
rules { r { filters = l
            action = p } }
`, { secrets: false });
  t.notOk(r.ok);
  if (!r.ok) t.match(r.errors[0]?.message, 'expected an IPv4 address like the source, got IPv6');
});

t.test('"me" in a negotiate filter: resolved from peers.X.local or reported, never thrown', async (t) => {
  const text = (local: string) => `
peers { hq { remote = 198.51.100.2
             ${local}
             local-id = gwA.lab } }
filter-lists { gw { f { source = me
                        destination = 198.51.100.2
                        protocol = udp
                        destination-ports = 161 } } }
filter-actions { sec { action = negotiate } }
rules { snmp { filters = gw
               action = sec
               peer = hq } }
`;
  const withLocal = tunnelsOf(load(text('local = 100.64.0.2')));
  t.same(withLocal[0]?.selectors, [{ local: '100.64.0.2/32', remote: '198.51.100.2/32', protocol: 17, remotePorts: [161, 161] }]);
  t.same(withLocal[0]?.problems, []);
  const without = tunnelsOf(load(text('')));
  t.same(without[0]?.selectors, []);
  t.match(without[0]?.problems[0], 'needs the gateway\'s address (set peers.hq.local)');
  const given = tunnelsOf(load(text('')), ['100.64.0.9']);
  t.equal(given[0]?.selectors[0]?.local, '100.64.0.9/32');
});
