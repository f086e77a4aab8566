// Interop of the hybrid post-quantum IKEv2 key exchange: sitelinkd against
// strongSwan 6 charon with x25519 plus ML-KEM as an RFC 9370 additional key
// exchange in IKE_INTERMEDIATE (RFC 9242), each side initiating once:
//   1. sitelinkd initiates aes256gcm16-prfsha256-x25519-ke1_mlkem768 from behind
//      the NAT (IKE on 4500: the 1184-byte KEi goes out in RFC 7383 fragments).
//   2. charon initiates aes256-sha256-ecp256-ke1_mlkem1024 (ke1_mlkem768 as its
//      second choice, which we do not take); its 1568-byte KEi and our 1568-byte
//      KEr both cross fragmented.
// Debian 12's strongSwan 5.9.8 has no ML-KEM. strongSwan 6.1 (Debian sid, over
// OpenSSL 3.5 from trixie) does, through its openssl plugin: scripts/lab/strongswan6-root
// builds that tree with mmdebstrap and charon runs chrooted in it (test/lib/strongswan.ts).
// Without the tree this file SKIPs, saying so.
import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON, Charon, charonPskBasics, randomPskHex, swanctlConf } from '../lib/strongswan.ts';
import { waitUntil } from '../lib/wait.ts';
import { Sitelinkd, sitelinkdPath, writeGatewayConfig } from '../netns/ike-sitelinkd.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const ROOT = process.env['SITELINK_STRONGSWAN6_ROOT'] ?? '/var/cache/sitelink/strongswan6-root';
const skip =
  labSkipReason(['/usr/sbin/swanctl']) ??
  (existsSync(path.join(ROOT, CHARON.slice(1)))
    ? null
    : `SKIPPED: no strongSwan 6 tree at ${ROOT} (Debian 12's strongSwan 5.9.8 has no ML-KEM): build it with ` +
      `bash scripts/lab/strongswan6-root ${ROOT} (mmdebstrap, a few minutes, needs the Debian mirror)`);

t.test('sitelinkd initiates x25519 + ML-KEM-768 to strongSwan 6 across the NAT', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'pq6');
  const psk = randomPskHex();
  const charon = await Charon.start(
    lab.ns('gwB'),
    path.join(dir, 'charon-gwB'),
    swanctlConf({
      ...charonPskBasics(psk),
      version: 2,
      ikeProposals: 'aes256gcm16-prfsha256-x25519-ke1_mlkem768',
      espProposals: 'aes256gcm16',
      localAddr: LAB.gwBWan, remoteAddr: LAB.natPublic, localId: 'gwB.lab', remoteId: 'gwA.lab', localTs: LAB.subnetB, remoteTs: LAB.subnetA,
    }),
    1,
    ROOT,
  );
  t.teardown(() => charon.stop());
  const files = writeGatewayConfig(dir, 'gwA', {
    id: 'gwA.lab', peerName: 'gwB', remote: LAB.gwBWan, remoteId: 'gwB.lab', local: LAB.subnetA, remoteNet: LAB.subnetB,
    psk: `0x${psk}`, start: 'start', version: 2, proposals: 'aes256gcm16-prfsha256-x25519-ke1_mlkem768', esp: 'aes256gcm16',
  });
  const d = await Sitelinkd.start(lab.ns('gwA'), files);
  t.teardown(() => d.stop());
  const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 25_000, 500);
  if (!up) t.comment(`sitelinkd log:\n${d.logText().slice(-6000)}\n${d.recentOutput()}\ncharon log:\n${charon.log().slice(-6000)}`);
  t.ok(up, 'the tunnel comes up');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA');
  t.match(d.logText(), /additional key exchange 1 \(mlkem768\) done, keys updated/, 'sitelinkd ran the ML-KEM-768 IKE_INTERMEDIATE');
  // Host swanctl (5.9.8) does not print ADDKE transforms: charon's own log names the proposal.
  t.match(charon.log(), /selected proposal: IKE:AES_GCM_16_256\/PRF_HMAC_SHA2_256\/CURVE_25519\/KE1_ML_KEM_768/, 'charon: ML-KEM-768 as ADDKE1');
  t.match(charon.log(), /IKE_SA lab\[\d+\] established/, 'charon: IKE SA established (our AUTH, with IntAuth, verified)');
  const ours = await controlRequest(files.socket, 'sas');
  t.equal(ours.mainMode[0]?.proposal, 'aes256gcm16-prfsha256-curve25519-ke1_mlkem768', 'sitelinkctl sas names the additional key exchange');
});

t.test('strongSwan 6 initiates ecp256 + ML-KEM-1024; sitelinkd answers', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'pq7');
  const psk = randomPskHex();
  const files = writeGatewayConfig(dir, 'gwB', {
    id: 'gwB.lab', peerName: 'gwA', remote: LAB.natPublic, remoteId: 'gwA.lab', local: LAB.subnetB, remoteNet: LAB.subnetA,
    psk: `0x${psk}`, start: 'none', version: 2, proposals: 'aes256-sha256-ecp256-ke1_mlkem1024', esp: 'aes256gcm16',
  });
  const d = await Sitelinkd.start(lab.ns('gwB'), files);
  t.teardown(() => d.stop());
  const charon = await Charon.start(
    lab.ns('gwA'),
    path.join(dir, 'charon-gwA'),
    swanctlConf({
      ...charonPskBasics(psk),
      version: 2,
      ikeProposals: 'aes256-sha256-ecp256-ke1_mlkem1024-ke1_mlkem768',
      espProposals: 'aes256gcm16',
      localAddr: LAB.gwAWan, remoteAddr: LAB.gwBWan, localId: 'gwA.lab', remoteId: 'gwB.lab', localTs: LAB.subnetA, remoteTs: LAB.subnetB,
    }),
    1,
    ROOT,
  );
  t.teardown(() => charon.stop());
  const r = await charon.initiate('lab');
  if (r.code !== 0)
    t.comment(`swanctl:\n${r.stdout}${r.stderr}\nsitelinkd log:\n${d.logText().slice(-6000)}\ncharon log:\n${charon.log().slice(-6000)}`);
  t.equal(r.code, 0, 'charon established the IKE SA and the child SA');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB');
  t.match(d.logText(), /additional key exchange 1 \(mlkem1024\) done, keys updated/, 'sitelinkd answered the ML-KEM-1024 IKE_INTERMEDIATE');
  t.match(charon.log(), /selected proposal: IKE:AES_CBC_256\/HMAC_SHA2_256_128\/PRF_HMAC_SHA2_256\/ECP_256\/KE1_ML_KEM_1024/, 'charon: ML-KEM-1024 as ADDKE1');
  t.match(charon.log(), /received fragment #\d of \d, reassembled/, 'charon reassembled our fragmented 1568-byte KEr');
});
