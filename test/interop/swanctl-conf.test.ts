// The strongSwan config writers of the harness (test/lib/strongswan.ts).
import t from 'tap';
import { randomPskHex, strongswanConf, swanctlConf } from '../lib/strongswan.ts';
import type { SwanctlPeer } from '../lib/strongswan.ts';

const peer: SwanctlPeer = {
  name: 'lab', version: 1, localAddr: '100.64.0.2', remoteAddr: '198.51.100.2',
  localId: 'gwA.lab', remoteId: 'gwB.lab', localTs: '198.18.1.0/24', remoteTs: '198.18.2.0/24',
  ikeProposals: 'aes128-sha256-modp2048', espProposals: 'aes128gcm16', pskHex: 'a1b2c3d4',
};

t.test('swanctl.conf has one key per line and the requested proposals', async (t) => {
  const text = swanctlConf(peer);
  for (const line of text.split('\n')) {
    t.ok((line.match(/=/g) ?? []).length <= 1, `one key per line: "${line.trim()}"`);
  }
  t.match(text, /^\s+version = 1$/m);
  t.match(text, /^\s+proposals = aes128-sha256-modp2048$/m);
  t.match(text, /^\s+esp_proposals = aes128gcm16$/m);
  t.match(text, /^\s+secret = 0xa1b2c3d4$/m);
  t.notMatch(text, /aggressive/);
  t.match(swanctlConf({ ...peer, version: 2, aggressive: true }), /^\s+version = 2$/m);
  t.match(swanctlConf({ ...peer, childExtra: { rekey_time: '0' } }), /^\s{8}rekey_time = 0$/m);
  let opens = 0;
  for (const ch of text) opens += ch === '{' ? 1 : ch === '}' ? -1 : 0;
  t.equal(opens, 0, 'braces balance');
});

t.test('PSK must be hex (no config injection through the secret)', async (t) => {
  t.throws(() => swanctlConf({ ...peer, pskHex: 'abc\n}' }));
  t.match(randomPskHex(), /^[0-9a-f]{64}$/);
});

t.test('strongswan.conf follows the measured facts', async (t) => {
  const text = strongswanConf('/tmp/x');
  t.match(text, /load_modular = no/);
  const load = /load = (.*)/.exec(text)?.[1]?.split(' ') ?? [];
  t.ok(load.indexOf('kernel-libipsec') >= 0 && load.indexOf('kernel-libipsec') < load.indexOf('kernel-netlink'),
    'kernel-libipsec is loaded before kernel-netlink');
  t.ok(load.includes('kdf'), 'kdf (IKEv2) is loaded');
  const threads = Number(/threads = (\d+)/.exec(text)?.[1]);
  t.ok(threads >= 16, 'threads not below 16');
  t.match(text, /socket = unix:\/\/\/tmp\/x\/charon\.vici/, 'swanctl finds the instance socket');
});
