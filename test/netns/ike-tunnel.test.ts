// sitelinkd (dist/sitelinkd.cjs) on both gateways of the netns lab: gwA
// behind the masquerading NAT initiates IKEv1 main mode + quick mode (PSK,
// aes128gcm16) to gwB; the tunnel must carry pings both ways over
// ESP-in-UDP, nothing may leak in clear, the logs must not contain the PSK,
// and on SIGTERM both daemons delete their SAs and exit.
import t from 'tap';
import { existsSync } from 'node:fs';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { Sitelinkd, sitelinkdPath, labGatewayPair, startLabTunnel } from './ike-sitelinkd.ts';

const skip = labSkipReason();

t.test('sitelinkd is built', { skip: skip ?? false }, async (t) => {
  t.ok(existsSync(sitelinkdPath), `${sitelinkdPath} must exist (npm run build)`);
});

t.test('sitelinkd <-> sitelinkd across the NAT: main mode, quick mode, traffic', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'ike');
  const psk = `lab-psk-${Math.random().toString(36).slice(2)}`;
  const { a: confA, b: confB } = labGatewayPair(dir, psk);
  const { a, b, up } = await startLabTunnel(t, lab, { a: confA, b: confB });
  t.ok(up, 'lanA reaches lanB once the tunnel is up');
  t.ok(await lab.ping('lanA', LAB.lanB, 5), 'lanA pings lanB through the tunnel (5/5)');
  t.ok(await lab.ping('lanB', LAB.lanA, 5), 'lanB pings lanA through the tunnel (5/5)');
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'no cleartext LAN-to-LAN packet reached the NAT');
  t.ok(c.espudp.packets >= 10, `ESP-in-UDP crossed the NAT on 4500 (${c.espudp.packets} packets)`);
  const logA = a.logText();
  const logB = b.logText();
  t.match(logA, /floating to UDP 4500/, 'gwA floated to 4500 after NAT-D');
  t.match(logB, /IPsec SA pair installed/, 'gwB installed the SA pair');
  t.notOk((logA + logB + a.recentOutput() + b.recentOutput()).includes(psk), 'the PSK appears in no log or output');

  const st = await controlRequest(a.files.socket, 'status');
  t.equal(st.peers.find((p) => p.name === 'gwB')?.state, 'up', 'sitelinkctl status: gwB is up');
  const sas = await controlRequest(b.files.socket, 'sas');
  t.equal(sas.quickMode.length, 1, 'sitelinkctl sas on gwB: one IPsec SA pair');
  t.equal(sas.quickMode[0]?.encap, 'udp');
  t.equal(sas.mainMode[0]?.localId, 'gwB.lab', 'main mode SA shows our identity as text');
  t.equal(sas.mainMode[0]?.remoteId, 'gwA.lab', 'and the peer identity');
  t.ok(BigInt(sas.quickMode[0]?.packetsIn ?? '0') > 0n, 'with inbound packets counted');
  t.notOk(JSON.stringify(sas).includes(psk), 'no PSK in sas output');

  // NAT rebinding: gwA's ESP now arrives from a new public port; gwB's engine reports
  // the authenticated move and sitelinkd re-points the outbound SA (RFC 3948 §5).
  await lab.rebind();
  const moved = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 15_000, 500);
  t.ok(moved, 'after the NAT rebinding lanA reaches lanB again');
  t.match(b.logText(), /peer now at 198\.51\.100\.1:40\d\d\d/, 'gwB followed gwA to its new NAT port');
  t.ok(await lab.ping('lanB', LAB.lanA, 3), 'lanB pings lanA over the new mapping');

  await a.stop();
  t.notOk(a.running, 'gwA exited on SIGTERM');
  const gone = await waitUntil(() => /peer deleted the ISAKMP SA|IPsec SA pair deleted/.test(b.logText()), 5000, 200);
  t.ok(gone, "gwB acted on gwA's Deletes");
  t.notOk(await lab.ping('lanB', LAB.lanA, 2), 'after the Deletes nothing passes');
  await b.stop();
  t.notOk(b.running, 'gwB exited on SIGTERM');
});

t.test('sitelinkd with mismatched PSKs: no tunnel, explain says why', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'ikf');
  const { a: confA, b: confB } = labGatewayPair(dir, 'first-secret-A', { b: { psk: 'other-secret-B' } });
  const b = await Sitelinkd.start(lab.ns('gwB'), confB);
  t.teardown(() => b.stop());
  const a = await Sitelinkd.start(lab.ns('gwA'), confA);
  t.teardown(() => a.stop());
  const seen = await waitUntil(async () => (await controlRequest(b.files.socket, 'explain', { peer: 'gwA' })).record !== null, 10_000, 300);
  t.ok(seen, 'gwB recorded a failure');
  const rb = await controlRequest(b.files.socket, 'explain', { peer: 'gwA' });
  t.equal(rb.record?.reason, 'authentication-failed', 'gwB: authentication failed');
  t.equal(rb.record?.phase, 'main');
  const ra = await controlRequest(a.files.socket, 'explain', { peer: 'gwB' });
  t.equal(ra.record?.reason, 'authentication-failed', 'gwA learnt it from the AUTHENTICATION-FAILED notify');
  const st = await controlRequest(a.files.socket, 'status');
  t.not(st.peers.find((p) => p.name === 'gwB')?.state, 'up', 'status does not claim the tunnel is up');
  t.notOk(await lab.ping('lanA', LAB.lanB, 2), 'no traffic passes');
  const all = JSON.stringify([ra, rb]) + a.logText() + b.logText();
  t.notOk(all.includes('first-secret-A') || all.includes('other-secret-B'), 'neither PSK appears in explain or logs');
});

t.test('start = trap: the first LAN packet brings the tunnel up', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'ikt');
  const psk = 'trap-lab-psk';
  const { a: confA, b: confB } = labGatewayPair(dir, psk, { a: { start: 'trap' } });
  const b = await Sitelinkd.start(lab.ns('gwB'), confB);
  t.teardown(() => b.stop());
  const a = await Sitelinkd.start(lab.ns('gwA'), confA);
  t.teardown(() => a.stop());
  await new Promise((r) => setTimeout(r, 2500));
  t.notMatch(a.logText(), /MM1/, 'nothing negotiated before traffic');
  const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 15_000, 500);
  t.ok(up, 'a ping from lanA triggers the negotiation and then gets through');
  t.match(a.logText(), /MM1/, 'gwA initiated main mode');
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'the triggering packets were dropped, not sent in clear');
});
