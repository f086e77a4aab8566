// Interop: sitelinkd against strongSwan 5.9 charon (IKEv1 main mode + quick
// mode, PSK, modp2048 / aes128-sha256 for phase 1, ESP aes128gcm16 in
// UDP-encapsulated tunnel mode) in the netns lab, both ways round:
//   1. sitelinkd on gwA (behind the NAT) initiates, charon on gwB responds;
//   2. charon on gwA initiates, sitelinkd on gwB responds.
// Traffic lanA <-> lanB must flow, with nothing in clear on the NAT.
import t from 'tap';
import { LAB } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON, randomPskHex } from '../lib/strongswan.ts';
import { charonPairForTest, checkInitiated, checkPskTunnel } from '../lib/strongswan-pair.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']);

t.test('sitelinkd initiates (gwA, behind NAT) to strongSwan (gwB)', { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 'ssi', { sitelinkdOn: 'gwA' });
  if (!pair) return;
  const { lab, p } = pair;
  await checkPskTunnel(t, lab, p);
  t.notOk(p.daemon.logText().includes(p.pskHex), 'the PSK is not in the negotiation log');
  await p.daemon.stop();
  const deleted = await waitUntil(async () => !/INSTALLED/.test(await p.charon.listSas()), 5000, 250);
  t.ok(deleted, "charon removed its IPsec SA on sitelinkd's Delete");
});

t.test('strongSwan initiates (gwA, behind NAT) to sitelinkd (gwB)', { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 'ssr', { sitelinkdOn: 'gwB' });
  if (!pair) return;
  const { lab, p } = pair;
  checkInitiated(t, p, 'swanctl --initiate succeeded against sitelinkd');
  await checkPskTunnel(t, lab, p);
  t.match(p.daemon.logText(), /RESPONDER-LIFETIME|accepted aes128gcm16/, 'sitelinkd accepted the quick mode');
});

t.test('strongSwan initiates with PFS (modp2048) and rekeys every 12 s; sitelinkd follows', { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 'ssk', {
    sitelinkdOn: 'gwB',
    sitelinkd: { pfs: 'modp2048' },
    charon: { espProposals: 'aes128gcm16-modp2048', childExtra: { rekey_time: '12s', life_time: '30s', rand_time: '0s' } },
    waitMs: 0,
  });
  if (!pair) return;
  const { lab, p } = pair;
  const d = p.daemon;
  checkInitiated(t, p, 'quick mode with PFS succeeded');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic flows');
  const rekeyed = await waitUntil(() => (d.logText().match(/IPsec SA pair installed/g) ?? []).length >= 2 && /IPsec SA pair deleted/.test(d.logText()), 30_000, 500);
  if (!rekeyed) t.comment(p.logs());
  t.ok(rekeyed, "sitelinkd installed the rekeyed pair and removed the old one on charon's Delete");
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic flows after the rekey');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'both ways');
  const n = await lab.counters();
  t.equal(n.leak?.packets, 0, 'nothing in clear across the rekey');
});

t.test('mismatched PSK against strongSwan: no tunnel, explain says authentication failed', { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 'ssp', { sitelinkdOn: 'gwA', charon: { pskHex: randomPskHex() }, waitMs: 0 });
  if (!pair) return;
  const { lab, p } = pair;
  const failed = await waitUntil(async () => (await controlRequest(p.files.socket, 'explain', { peer: 'gwB' })).record !== null, 20_000, 500);
  const r = await controlRequest(p.files.socket, 'explain', { peer: 'gwB' });
  if (!failed || r.record?.reason !== 'authentication-failed') t.comment(p.logs());
  t.equal(r.record?.reason, 'authentication-failed', 'explain: authentication failed');
  t.notOk(await lab.ping('lanA', LAB.lanB, 2), 'no traffic passes');
});
