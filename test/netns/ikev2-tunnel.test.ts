// sitelinkd <-> sitelinkd over IKEv2 (version = 2) in the netns lab: gwA
// behind the masquerading NAT initiates IKE_SA_INIT + IKE_AUTH (PSK,
// aes128gcm16 child SA with 64-bit ESN: gwA esn = yes, gwB either) to gwB, the IKE SA
// hybrid post-quantum: x25519 plus ML-KEM-768 as an RFC 9370 additional key exchange in
// an IKE_INTERMEDIATE exchange (its 1184-byte KE fragmented, RFC 7383), then
// NAT detection moves IKE to 4500 and ESP into
// UDP; pings pass both ways, nothing leaks in clear, the PSK is in no log,
// sitelinkctl shows version 2, a forced rekey keeps the tunnel, and on
// SIGTERM the Delete reaches the peer.
import t from 'tap';
import { existsSync } from 'node:fs';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { sitelinkdPath, labGatewayPair, startLabTunnel } from './ike-sitelinkd.ts';

const skip = labSkipReason();

t.test('sitelinkd <-> sitelinkd over IKEv2 across the NAT', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'ik2');
  const psk = `lab-psk-${Math.random().toString(36).slice(2)}`;
  const { a: confA, b: confB } = labGatewayPair(dir, psk, {
    a: { version: 2, proposals: 'aes256gcm16-prfsha256-x25519-ke1_mlkem768', peerLines: ['esn = yes'] },
    b: { version: 2, proposals: 'aes256gcm16-prfsha256-x25519-ke1_mlkem768', peerLines: ['esn = either'] },
  });
  const { a, b, up } = await startLabTunnel(t, lab, { a: confA, b: confB });
  t.ok(up, 'lanA reaches lanB once the tunnel is up');
  t.ok(await lab.ping('lanA', LAB.lanB, 5), 'lanA pings lanB through the tunnel (5/5)');
  t.ok(await lab.ping('lanB', LAB.lanA, 5), 'lanB pings lanA through the tunnel (5/5)');
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'no cleartext LAN-to-LAN packet reached the NAT');
  t.ok(c.espudp.packets >= 10, `ESP-in-UDP crossed the NAT on 4500 (${c.espudp.packets} packets)`);
  const logA = a.logText();
  const logB = b.logText();
  t.match(logA, /IKE_SA_INIT/, 'gwA logged IKE_SA_INIT');
  t.match(logA, /moving to port 4500/, 'gwA floated to 4500 after NAT detection');
  t.match(logB, /child SA pair installed/, 'gwB installed the child SA pair');
  t.match(logA, /IKE_INTERMEDIATE[^\n]*additional key exchange 1 \(mlkem768\) done, keys updated/, 'gwA ran the ML-KEM-768 exchange');
  t.match(logB, /FRAGMENT[^\n]*reassembled/, 'gwB reassembled the fragmented ML-KEM key');
  t.match(logB, /"esn":"yes"/, 'with extended sequence numbers (the engine carries them)');
  t.notOk((logA + logB + a.recentOutput() + b.recentOutput()).includes(psk), 'the PSK appears in no log or output');

  const st = await controlRequest(a.files.socket, 'status');
  const peer = st.peers.find((p) => p.name === 'gwB');
  t.equal(peer?.state, 'up', 'sitelinkctl status: gwB is up');
  t.equal(peer?.ikeVersion, 2, 'status shows IKE version 2');
  const sas = await controlRequest(b.files.socket, 'sas');
  t.equal(sas.mainMode[0]?.version, 2, 'sas shows an IKEv2 SA');
  t.equal(sas.mainMode[0]?.proposal, 'aes256gcm16-prfsha256-curve25519-ke1_mlkem768', 'sas shows the additional key exchange');
  t.equal(sas.quickMode.length, 1, 'one child SA pair');
  t.equal(sas.quickMode[0]?.encap, 'udp');
  t.equal(sas.quickMode[0]?.esn, true, 'sas shows ESN negotiated');
  t.ok(sas.mainMode[0]?.nat.remote, 'gwB sees the NAT in front of gwA');

  // Forced child rekey (CREATE_CHILD_SA, make-before-break): the tunnel keeps working on the new pair.
  const before = sas.quickMode[0]!.spiIn;
  await controlRequest(a.files.socket, 'rekey', { peer: 'gwB' });
  const rekeyed = await waitUntil(async () => {
    const s = await controlRequest(b.files.socket, 'sas');
    return s.quickMode.length === 1 && s.quickMode[0]!.spiIn !== before;
  }, 10_000, 300);
  t.ok(rekeyed, 'after rekey gwB has one child SA pair with new SPIs');
  t.ok(await lab.ping('lanA', LAB.lanB, 3), 'traffic passes on the rekeyed pair');

  await a.stop();
  t.notOk(a.running, 'gwA exited on SIGTERM');
  const gone = await waitUntil(() => /peer deleted the IKE SA/.test(b.logText()), 5000, 200);
  t.ok(gone, "gwB acted on gwA's Delete");
  t.notOk(await lab.ping('lanB', LAB.lanA, 2), 'after the Delete nothing passes');
});
