import t from 'tap';
import { loadConfigText } from '../../firmware/src/config/load.ts';
import { diffConfig, reloadConfig } from '../../firmware/src/config/diff.ts';
import type { SitelinkConfig } from '../../firmware/src/config/types.ts';
import { Secret } from '../../firmware/src/base/secret.ts';

const BASE = `
gateway { id = branch.lab }
peers {
  hq { remote = 198.51.100.2
       proposals = aes256-sha256-modp2048 }
  dc { remote = 203.0.113.9 }
}
filter-lists {
  hq-lan { f { source = 10.1.0.0/24
               destination = 10.0.0.0/16 } }
  dc-lan { f { source = 10.1.0.0/24
               destination = 172.16.0.0/16 } }
  telnet { f { source = any
               destination = any
               protocol = tcp
               destination-ports = 23 } }
}
filter-actions {
  sec { action = negotiate
        security-methods = aes128gcm16 }
  block { action = block }
}
rules {
  to-hq { filters = hq-lan
          action = sec
          peer = hq }
  to-dc { filters = dc-lan
          action = sec
          peer = dc }
  no-telnet { filters = telnet
              action = block }
}
`;

function load(text: string): SitelinkConfig {
  const r = loadConfigText('/etc/sitelink/sitelink.conf', text, { secrets: false });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

t.test('identical configs: everything unchanged (even when blocks move lines)', async (t) => {
  const d = diffConfig(load(BASE), load('\n\n# moved\n' + BASE));
  t.same(d.peers, { unchanged: ['hq', 'dc'], changed: [], added: [], removed: [] });
  t.same(d.tunnels, { unchanged: ['to-hq', 'to-dc'], changed: [], added: [], removed: [] });
  t.equal(d.filtersChanged, false);
  t.same(d.gatewayChanged, []);
});

t.test('changed peer changes its tunnels only; added and removed are reported', async (t) => {
  const next = BASE
    .replace('proposals = aes256-sha256-modp2048', 'proposals = aes128-sha256-modp2048')
    .replace('  dc { remote = 203.0.113.9 }', '  dc2 { remote = 203.0.113.10 }')
    .replace('peer = dc }', 'peer = dc2 }')
    .replace('to-dc {', 'to-dc2 {');
  const d = diffConfig(load(BASE), load(next));
  t.same(d.peers, { unchanged: [], changed: ['hq'], added: ['dc2'], removed: ['dc'] });
  t.same(d.tunnels, { unchanged: [], changed: ['to-hq'], added: ['to-dc2'], removed: ['to-dc'] });
  t.equal(d.filtersChanged, true);
});

t.test('changing a filter action changes the tunnel but not the peer', async (t) => {
  const d = diffConfig(load(BASE), load(BASE.replace('security-methods = aes128gcm16', 'security-methods = aes256gcm16')));
  t.same(d.peers.changed, []);
  t.same(d.tunnels.changed.sort(), ['to-dc', 'to-hq']);
});

t.test('a block-only change only regenerates filters', async (t) => {
  const d = diffConfig(load(BASE), load(BASE.replace('destination-ports = 23', 'destination-ports = 23, 513')));
  t.same(d.tunnels.changed, []);
  t.equal(d.filtersChanged, true);
});

t.test('a PSK change is a peer change (compared in constant time, never printed)', async (t) => {
  const a = load(BASE);
  const b = load(BASE);
  const hqA = a.peers.get('hq');
  const hqB = b.peers.get('hq');
  if (!hqA || !hqB) throw new Error('no hq');
  hqA.psk = new Secret(Buffer.from('one'));
  hqB.psk = new Secret(Buffer.from('two'));
  const d = diffConfig(a, b);
  t.same(d.peers.changed, ['hq']);
  t.notMatch(JSON.stringify(d), /one|two/);
});

t.test('an invalid new config yields errors and the old config stays', async (t) => {
  const running = load(BASE);
  const broken = loadConfigText('/etc/sitelink/sitelink.conf', BASE.replace('remote = 198.51.100.2', 'remote = 198.51.100.2.7'), { secrets: false });
  const out = reloadConfig(running, broken);
  t.equal(out.ok, false);
  t.equal(out.config, running, 'running config kept');
  if (!out.ok) t.match(out.errors[0]?.field, 'peers.hq.remote');
  const good = reloadConfig(running, loadConfigText('x.conf', BASE.replace('id = branch.lab', 'id = branch2.lab'), { secrets: false }));
  t.equal(good.ok, true);
  if (good.ok) {
    t.not(good.config, running);
    t.same(good.diff.gatewayChanged, ['id']);
  }
});
