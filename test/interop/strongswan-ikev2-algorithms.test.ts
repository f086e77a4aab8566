// Interop: sitelinkd (version = 2) against strongSwan 5.9 charon with the
// IKEv2 algorithms beyond the defaults, each side initiating once:
//   1. sitelinkd initiates with aes256-sha256-modp2048 first; charon wants
//      chacha20poly1305-prfsha256-x25519 (RFC 7634) and answers
//      INVALID_KE_PAYLOAD(31); sitelinkd retries with curve25519. Child SA
//      aes256gcm16, PFS ecp384 on our forced rekey; esn = either falls back
//      to 32-bit sequence numbers since charon offers only NO_ESN.
//   2. charon initiates with KE ecp256 (aes128gcm16-prfsha256-ecp256 first);
//      sitelinkd prefers aes256gcm16-prfsha512-modp3072 (RFC 5282), answers
//      INVALID_KE_PAYLOAD(15) and charon retries; charon rekeys the child
//      with PFS ecp521.
// ESN itself is not tried against charon: its kernel-libipsec (the only ESP
// this kernel lets it use) refuses ESN SAs ("IPsec SA: ESN not supported").
// sitelinkd <-> sitelinkd carries ESN in test/netns/ikev2-tunnel.test.ts.
// Groups seen on the wire: 14, 15, 19, 20, 21, 31; every group is covered by
// the unit tests (ikev2-algorithms.test.ts).
import t, { type Test } from 'tap';
import { Lab, LAB } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON } from '../lib/strongswan.ts';
import { charonPairForTest, checkInitiated, checkUp, type CharonPair } from '../lib/strongswan-pair.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const skip = labSkipReason([CHARON, '/usr/sbin/swanctl']);

async function traffic(t: Test, lab: Lab, p: CharonPair): Promise<void> {
  checkUp(t, p);
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA');
}

const SITELINKD_INITIATES = 'sitelinkd initiates: INVALID_KE_PAYLOAD from charon, ChaCha20-Poly1305 IKE SA over curve25519, ESN fallback, PFS ecp384';
t.test(SITELINKD_INITIATES, { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 's2a', {
    sitelinkdOn: 'gwA',
    version: 2,
    charon: { ikeProposals: 'chacha20poly1305-prfsha256-x25519, aes256gcm16-prfsha384-ecp384', espProposals: 'aes256gcm16-ecp384' },
    sitelinkd: {
      proposals: 'aes256-sha256-modp2048, chacha20poly1305-prfsha256-curve25519',
      esp: 'aes256gcm16', pfs: 'ecp384', peerLines: ['esn = either'],
    },
  });
  if (!pair) return;
  const { lab, p } = pair;
  const { charon, daemon: d, files } = p;
  await traffic(t, lab, p);
  t.match(d.logText(), /INVALID_KE_PAYLOAD: responder wants group curve25519, retrying/, 'sitelinkd retried with the group charon named');
  const sas = await charon.listSas();
  t.match(sas, /CHACHA20_POLY1305\/PRF_HMAC_SHA2_256\/CURVE_25519/, 'charon: the IKE SA is ChaCha20-Poly1305 over curve25519');
  t.match(sas, /AES_GCM_16-256/, 'charon: the child SA is AES-GCM-256');
  t.notMatch(sas, /ESN/, 'esn = either took NO_ESN, the only one charon offered');
  const ours = await controlRequest(files.socket, 'sas');
  t.equal(ours.mainMode[0]?.proposal, 'chacha20poly1305-prfsha256-curve25519', 'sitelinkctl sas names the suite');
  t.equal(ours.quickMode[0]?.esn, false, 'sitelinkctl sas: no ESN on this child SA');
  const rekeyed = await p.rekeyChild();
  if (!rekeyed) t.comment(p.logs());
  t.ok(rekeyed, 'charon accepted our CREATE_CHILD_SA rekey with KE ecp384');
  t.match(await charon.listSas(), /AES_GCM_16-256\/ECP_384/, 'charon: the rekeyed child has PFS ecp384');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic flows after the rekey');
});

const CHARON_INITIATES = 'charon initiates: INVALID_KE_PAYLOAD from sitelinkd, AES-GCM IKE SA over modp3072, charon rekeys with PFS ecp521';
t.test(CHARON_INITIATES, { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 's2b', {
    sitelinkdOn: 'gwB',
    version: 2,
    sitelinkd: { proposals: 'aes256gcm16-prfsha512-modp3072, aes128gcm16-prfsha256-ecp256', pfs: 'ecp521' },
    charon: {
      ikeProposals: 'aes128gcm16-prfsha256-ecp256, aes256gcm16-prfsha512-modp3072',
      espProposals: 'aes128gcm16-ecp521',
      childExtra: { rekey_time: '8s', life_time: '30s', rand_time: '0s' },
    },
  });
  if (!pair) return;
  const { lab, p } = pair;
  const { charon, daemon: d, files } = p;
  checkInitiated(t, p, 'swanctl --initiate succeeded against sitelinkd');
  await traffic(t, lab, p);
  t.match(d.logText(), /INVALID_KE_PAYLOAD/, 'sitelinkd asked charon for another group');
  const sas = await charon.listSas();
  t.match(sas, /AES_GCM_16-256\/PRF_HMAC_SHA2_512\/MODP_3072/, "charon: the IKE SA is sitelinkd's preferred AES-GCM suite");
  const rekeyed = await waitUntil(() => (d.logText().match(/child SA pair installed/g) ?? []).length >= 2 && /child SA pair removed/.test(d.logText()), 30_000, 500);
  if (!rekeyed) t.comment(p.logs());
  t.ok(rekeyed, "sitelinkd answered charon's rekey with KE ecp521");
  const ours = await controlRequest(files.socket, 'sas');
  t.equal(ours.quickMode.length, 1, 'one child SA pair left');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic flows after the PFS rekey');
  t.equal((await lab.counters()).leak?.packets, 0, 'nothing in clear');
});

// The child SA in ChaCha20-Poly1305 (RFC 7634), which the engine composes
// from libcrypto's ChaCha20 and Poly1305 (native/src/crypto/ossl_chacha.c):
// charon (its own implementation) must open what we seal and the reverse,
// at payload lengths on both sides of the 64-byte ChaCha20 blocks and the
// 128-byte Poly1305 steps the composition treats apart.
const CHACHA_CHILD = 'ChaCha20-Poly1305 child SA against charon, both ways, payload lengths around the block boundaries';
t.test(CHACHA_CHILD, { skip: skip ?? false }, async (t) => {
  const pair = await charonPairForTest(t, 's2c', {
    sitelinkdOn: 'gwA',
    version: 2,
    charon: { ikeProposals: 'aes128gcm16-prfsha256-ecp256', espProposals: 'chacha20poly1305' },
    sitelinkd: { proposals: 'aes128gcm16-prfsha256-ecp256', esp: 'chacha20poly1305' },
  });
  if (!pair) return;
  const { lab, p } = pair;
  const { charon, files } = p;
  await traffic(t, lab, p);
  t.match(await charon.listSas(), /CHACHA20_POLY1305/, 'charon: the child SA is ChaCha20-Poly1305');
  const ours = await controlRequest(files.socket, 'sas');
  t.match(JSON.stringify(ours.quickMode[0] ?? {}), /chacha20poly1305/i, 'sitelinkctl sas: the child SA is ChaCha20-Poly1305');
  // ICMP data sizes: ESP payload = 20 (inner IPv4) + 8 (ICMP) + data +
  // padding to 4 + 2 (trailer), so these land on, just under and just over
  // multiples of 64 and 128 (1250: 1,280 bytes). At most 1372: charon's
  // libipsec TUN has an MTU of 1400.
  const failed: number[] = [];
  for (const size of [0, 1, 33, 34, 35, 97, 98, 99, 161, 226, 227, 1000, 1250, 1251, 1314, 1337, 1372]) {
    const r = await lab.exec('lanA', 'ping', ['-n', '-q', '-c', '2', '-i', '0.2', '-W', '2', '-s', String(size), LAB.lanB], { timeoutMs: 15_000 });
    if (r.code !== 0 || !/\b2 received/.test(r.stdout)) failed.push(size);
  }
  t.same(failed, [], 'every ping size answered through the ChaCha20-Poly1305 tunnel');
  t.equal((await lab.counters()).leak?.packets, 0, 'nothing in clear');
});
