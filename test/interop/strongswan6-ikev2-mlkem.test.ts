// Interop of the hybrid post-quantum IKEv2 key exchange: sitelinkd against
// strongSwan 6 charon with an ML-KEM as an RFC 9370 additional key exchange, in
// IKE_INTERMEDIATE (RFC 9242) at the start and in IKE_FOLLOWUP_KE (RFC 9370
// §2.2.2) for every rekey, each side initiating once:
//   1. sitelinkd initiates aes256gcm16-prfsha256-x25519-ke1_mlkem768 from behind
//      the NAT (IKE on 4500: the 1184-byte KEi goes out in RFC 7383 fragments);
//      child SAs rekey with x25519 + ML-KEM-768 (pfs = curve25519-ke1_mlkem768).
//   2. charon initiates aes256-sha256-ecp256-ke1_mlkem1024 (ke1_mlkem768 as its
//      second choice, which we do not take); its 1568-byte KEi and our 1568-byte
//      KEr both cross fragmented; child SAs rekey with ecp256 + ML-KEM-1024.
// In both, the IKE SA and the child SA are then rekeyed by sitelinkd and by charon
// (swanctl --rekey): each new SA ran the additional key exchange (our log,
// `sitelinkctl sas` naming it) and traffic flows through the new one.
// Debian 12's strongSwan 5.9.8 has no ML-KEM. strongSwan 6.1 (Debian sid, over
// OpenSSL 3.5 from trixie) does, through its openssl plugin: scripts/lab/strongswan6-root
// builds that tree with mmdebstrap and charon runs chrooted in it (test/lib/strongswan.ts).
// Without the tree this file SKIPs, saying so.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LAB, type Lab } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { CHARON } from '../lib/strongswan.ts';
import { charonPairForTest, type CharonPair, type Gateway } from '../lib/strongswan-pair.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';

const ROOT = process.env['SITELINK_STRONGSWAN6_ROOT'] ?? '/var/cache/sitelink/strongswan6-root';
const skip =
  labSkipReason(['/usr/sbin/swanctl']) ??
  (existsSync(path.join(ROOT, CHARON.slice(1)))
    ? null
    : `SKIPPED: no strongSwan 6 tree at ${ROOT} (Debian 12's strongSwan 5.9.8 has no ML-KEM): build it with ` +
      `bash scripts/lab/strongswan6-root ${ROOT} (mmdebstrap, a few minutes, needs the Debian mirror)`);

interface PqSetup {
  /** The gateway sitelinkd runs on (gwA is behind the NAT); whoever is on gwA initiates. */
  sitelinkdOn: Gateway;
  /** sitelinkd's and charon's IKE proposals, sitelinkd's child SA pfs and charon's esp_proposals. */
  proposals: string;
  charonProposals: string;
  pfs: string;
  charonEsp: string;
}

/** One direction's setup: the lab, charon 6 and sitelinkd with ML-KEM for the IKE SA and the child SAs (null: not built, failed). */
async function pqPair(t: Test, tag: string, s: PqSetup): Promise<{ lab: Lab; pair: CharonPair } | null> {
  const r = await charonPairForTest(t, tag, {
    sitelinkdOn: s.sitelinkdOn,
    version: 2,
    root: ROOT,
    charon: { ikeProposals: s.charonProposals, espProposals: s.charonEsp },
    sitelinkd: { proposals: s.proposals, esp: 'aes256gcm16', pfs: s.pfs },
  });
  return r && { lab: r.lab, pair: r.p };
}

/** How many times sitelinkd's log matches `re`. */
const count = (pair: CharonPair, re: RegExp): number => pair.daemon.logText().match(new RegExp(re.source, 'g'))?.length ?? 0;

/**
 * The IKE SA and the child SA rekeyed by sitelinkd, then by charon, each with the
 * additional key exchange `kem` in IKE_FOLLOWUP_KE; traffic flows after each.
 */
async function rekeysWithMlKem(t: Test, lab: Lab, pair: CharonPair, peer: Gateway, kem: string, proposal: string, pfs: string): Promise<void> {
  const socket = pair.files.socket;
  const established = async (): Promise<string[]> =>
    (await controlRequest(socket, 'sas')).mainMode.filter((m) => m.state === 'established').map((m) => m.cookies);
  const childSpi = async (): Promise<number | undefined> => (await controlRequest(socket, 'sas')).quickMode[0]?.spiIn;
  const traffic = async (what: string): Promise<void> => {
    t.ok(await lab.ping('lanA', LAB.lanB, 3), `${what}: lanA pings lanB`);
    t.ok(await lab.ping('lanB', LAB.lanA, 3), `${what}: lanB pings lanA`);
  };
  const ike = async (who: 'sitelinkd' | 'charon'): Promise<void> => {
    const [old] = await established();
    const done = count(pair, new RegExp(`IKE SA rekey: additional key exchange 1 \\(${kem}\\) done`));
    if (who === 'sitelinkd') await controlRequest(socket, 'rekey', { peer, ike: true });
    else t.equal((await pair.charon.swanctl(['--rekey', '--ike', 'lab'])).code, 0, 'swanctl --rekey --ike');
    const rekeyed = await waitUntil(async () => {
      const now = await established();
      return now.length === 1 && now[0] !== old;
    }, 20_000, 250);
    if (!rekeyed) t.comment(pair.logs());
    t.ok(rekeyed, `${who} rekeyed the IKE SA`);
    const ran = count(pair, new RegExp(`IKE SA rekey: additional key exchange 1 \\(${kem}\\) done`));
    t.equal(ran, done + 1, `${who}'s IKE SA rekey ran ${kem} in IKE_FOLLOWUP_KE`);
    t.equal((await controlRequest(socket, 'sas')).mainMode[0]?.proposal, proposal, 'sitelinkctl sas names it for the new IKE SA');
    await traffic(`after ${who}'s IKE SA rekey`);
  };
  const child = async (who: 'sitelinkd' | 'charon'): Promise<void> => {
    const old = await childSpi();
    const done = count(pair, new RegExp(`rekey of [^:]+: additional key exchange 1 \\(${kem}\\) done`));
    if (who === 'sitelinkd') await controlRequest(socket, 'rekey', { peer });
    else t.equal((await pair.charon.swanctl(['--rekey', '--child', 'lab'])).code, 0, 'swanctl --rekey --child');
    const rekeyed = await waitUntil(async () => {
      const q = (await controlRequest(socket, 'sas')).quickMode;
      return q.length === 1 && q[0]!.spiIn !== old;
    }, 20_000, 250);
    if (!rekeyed) t.comment(pair.logs());
    t.ok(rekeyed, `${who} rekeyed the child SA`);
    t.equal(count(pair, new RegExp(`rekey of [^:]+: additional key exchange 1 \\(${kem}\\) done`)), done + 1, `${who}'s child SA rekey ran ${kem}`);
    t.equal((await controlRequest(socket, 'sas')).quickMode[0]?.pfs, pfs, 'sitelinkctl sas shows the PFS group and the additional KE');
    await traffic(`after ${who}'s child SA rekey`);
  };
  await ike('sitelinkd');
  await ike('charon');
  await child('sitelinkd');
  await child('charon');
  t.notMatch(pair.daemon.logText(), /ended before its additional key exchanges/, 'no follow-up failed');
}

t.test('sitelinkd initiates x25519 + ML-KEM-768 to strongSwan 6 across the NAT; both rekey with it', { skip: skip ?? false }, async (t) => {
  const setup = await pqPair(t, 'pq6', {
    sitelinkdOn: 'gwA',
    proposals: 'aes256gcm16-prfsha256-x25519-ke1_mlkem768',
    charonProposals: 'aes256gcm16-prfsha256-x25519-ke1_mlkem768',
    pfs: 'curve25519-ke1_mlkem768',
    charonEsp: 'aes256gcm16-x25519-ke1_mlkem768',
  });
  if (!setup) return;
  const { lab, pair } = setup;
  if (!pair.up) t.comment(pair.logs());
  t.ok(pair.up, 'the tunnel comes up');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA');
  t.match(pair.daemon.logText(), /additional key exchange 1 \(mlkem768\) done, keys updated/, 'sitelinkd ran the ML-KEM-768 IKE_INTERMEDIATE');
  // Host swanctl (5.9.8) does not print ADDKE transforms: charon's own log names the proposal.
  t.match(pair.charon.log(), /selected proposal: IKE:AES_GCM_16_256\/PRF_HMAC_SHA2_256\/CURVE_25519\/KE1_ML_KEM_768/, 'charon: ML-KEM-768 as ADDKE1');
  t.match(pair.charon.log(), /IKE_SA lab\[\d+\] established/, 'charon: IKE SA established (our AUTH, with IntAuth, verified)');
  const proposal = 'aes256gcm16-prfsha256-curve25519-ke1_mlkem768';
  t.equal((await controlRequest(pair.files.socket, 'sas')).mainMode[0]?.proposal, proposal, 'sitelinkctl sas names the additional key exchange');
  if (!pair.up) return;
  await rekeysWithMlKem(t, lab, pair, 'gwB', 'mlkem768', proposal, 'curve25519-ke1_mlkem768');
});

t.test('strongSwan 6 initiates ecp256 + ML-KEM-1024; sitelinkd answers; both rekey with it', { skip: skip ?? false }, async (t) => {
  const setup = await pqPair(t, 'pq7', {
    sitelinkdOn: 'gwB',
    proposals: 'aes256-sha256-ecp256-ke1_mlkem1024',
    charonProposals: 'aes256-sha256-ecp256-ke1_mlkem1024-ke1_mlkem768',
    pfs: 'ecp256-ke1_mlkem1024',
    charonEsp: 'aes256gcm16-ecp256-ke1_mlkem1024',
  });
  if (!setup) return;
  const { lab, pair } = setup;
  const r = pair.initiated!;
  if (r.code !== 0) t.comment(`swanctl:\n${r.stdout}${r.stderr}\n${pair.logs()}`);
  t.equal(r.code, 0, 'charon established the IKE SA and the child SA');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'lanA pings lanB');
  t.match(pair.daemon.logText(), /additional key exchange 1 \(mlkem1024\) done, keys updated/, 'sitelinkd answered the ML-KEM-1024 IKE_INTERMEDIATE');
  t.match(pair.charon.log(), /selected proposal: IKE:AES_CBC_256\/HMAC_SHA2_256_128\/PRF_HMAC_SHA2_256\/ECP_256\/KE1_ML_KEM_1024/, 'charon: ML-KEM-1024 as ADDKE1');
  t.match(pair.charon.log(), /received fragment #\d of \d, reassembled/, 'charon reassembled our fragmented 1568-byte KEr');
  if (r.code !== 0) return;
  await rekeysWithMlKem(t, lab, pair, 'gwA', 'mlkem1024', 'aes256-sha256-ecp256-ke1_mlkem1024', 'ecp256-ke1_mlkem1024');
});
