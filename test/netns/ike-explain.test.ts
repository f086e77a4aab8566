// `sitelinkctl explain` between two sitelinkd across the lab NAT (issue 15), for each
// way a negotiation fails: wrong PSK, an identity the peer does not expect, a quick
// mode the peer refuses, a peer that is down. Each asserts the plain-words output and
// the --json record of the initiator (gwA). sitelinkd never refuses silently (it
// always sends the notify), so the refusals here are the notified ones; the silent
// forms are in test/interop/strongswan-explain.test.ts.
// Plus issue 19: a test peer (a sitelink IKE node, test/lib/ike-test-peer.ts) that
// refuses the quick mode with an SPI-less NO-PROPOSAL-CHOSEN: sitelinkd reports the
// failure at once (under 5 s, with the default 126 s retransmission schedule), counted.
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { LAB, labForTest, type Lab } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { explain, waitForRecord, type Explained } from '../lib/explain.ts';
import { startTestPeer } from '../lib/ike-test-peer.ts';
import { terminate } from '../lib/proc.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { labGateway, Sitelinkd, sitelinkdPath, writeGatewayConfig, type GatewayConfig } from './ike-sitelinkd.ts';

const skip = labSkipReason();
const FAST = { timeout: '1s', tries: 2 };

/** The lab's gwA and gwB (labGateway) with the fast retransmit schedule. */
const gwA = (psk: string, over: Partial<GatewayConfig> = {}): GatewayConfig => labGateway('gwA', psk, { retransmit: FAST, ...over });
const gwB = (psk: string, over: Partial<GatewayConfig> = {}): GatewayConfig => labGateway('gwB', psk, { retransmit: FAST, ...over });

/** gwB (if given) then gwA; gwA's failure record as explain shows it. */
async function failureOf(
  t: Test,
  lab: Lab,
  dir: string,
  a: GatewayConfig,
  b: GatewayConfig | null,
): Promise<{ e: Explained | null; bSocket: string | null; secrets: string[] }> {
  let bd: Sitelinkd | null = null;
  if (b) {
    bd = await Sitelinkd.start(lab.ns('gwB'), writeGatewayConfig(dir, 'gwB', b));
    t.teardown(() => bd?.stop());
  }
  const files = writeGatewayConfig(dir, 'gwA', a);
  const d = await Sitelinkd.start(lab.ns('gwA'), files);
  t.teardown(() => d.stop());
  const seen = await waitForRecord(files.socket, 'gwB', 30_000);
  const e = await explain(files.socket, 'gwB');
  if (!seen || e.code !== 0) t.comment(`gwA log:\n${d.logText().slice(-5000)}\n${bd ? `gwB log:\n${bd.logText().slice(-3000)}` : ''}`);
  t.ok(seen, 'gwA recorded a failure');
  t.equal(e.code, 0, `explain exits 0 ${e.err}`);
  t.equal(e.err, '', 'and prints no error');
  t.comment(e.text);
  const secrets = [a.psk, b?.psk ?? ''].filter((s) => s !== '');
  const all = e.text + JSON.stringify(e.record) + d.logText() + (bd?.logText() ?? '');
  t.notOk(
    secrets.some((s) => all.includes(s)),
    'no PSK in explain or the logs',
  );
  return { e: seen ? e : null, bSocket: bd ? bd.files.socket : null, secrets };
}

const AUTH_LINES = ['peers.gwB.remote-id = gwB.lab', 'peers.gwB.local-id = gwA.lab'];

t.test('sitelink vs sitelink: wrong pre-shared key', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'epk');
  const { e } = await failureOf(t, lab, dir, gwA('explain-psk-one'), gwB('explain-psk-two'));
  if (!e) return;
  const r = e.record!;
  t.equal(r.reason, 'authentication-failed');
  t.equal(r.phase, 'main');
  t.equal(r.configLines?.[0], 'secrets file, psk { gwB.lab = ... } (the same key as on the peer)');
  for (const l of AUTH_LINES) t.ok(r.configLines?.includes(l), `record: ${l}`);
  t.equal(r.configField, undefined, 'not peers.gwB.proposals');
  t.match(e.text, 'The pre-shared keys (or certificates) differ.');
  t.match(e.text, 'secrets file, psk { gwB.lab = ... }');
  t.notMatch(e.text, 'Acceptable to us', 'no proposals listed: they are not what failed');
});

t.test('sitelink vs sitelink: the peer expects another identity from us', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'eid');
  const psk = 'explain-id-psk';
  const { e, bSocket } = await failureOf(t, lab, dir, gwA(psk), gwB(psk, { remoteId: 'someone-else.lab' }));
  if (!e) return;
  const r = e.record!;
  t.equal(r.reason, 'id-mismatch', 'gwB answered MM5 with INVALID-ID-INFORMATION');
  for (const l of AUTH_LINES) t.ok(r.configLines?.includes(l), `record: ${l}`);
  t.match(e.text, 'Why: The peer refused our identity.');
  t.match(e.text, 'peers.gwB.local-id = gwA.lab');
  const rb = (await explain(bSocket!, 'gwA')).record;
  t.equal(rb?.reason, 'id-mismatch', 'gwB: the identity it did not expect');
  t.equal(rb?.receivedId, 'gwA.lab');
  t.equal(rb?.expectedId, 'someone-else.lab');
});

t.test('sitelink vs sitelink: a quick mode the peer refuses (PFS)', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'eqm');
  const psk = 'explain-qm-psk';
  const { e, bSocket } = await failureOf(t, lab, dir, gwA(psk, { pfs: 'none' }), gwB(psk, { pfs: 'modp2048' }));
  if (!e) return;
  const r = e.record!;
  t.equal(r.phase, 'quick');
  t.equal(r.reason, 'no-proposal-chosen', 'gwB said NO-PROPOSAL-CHOSEN');
  t.same(r.configLines, [
    `filter-lists.lan: source = ${LAB.subnetA}, destination = ${LAB.subnetB}`,
    'filter-actions.secure.security-methods = aes128gcm16',
    'filter-actions.secure.pfs = none',
  ]);
  t.match(e.text, 'The peer refused all our quick mode proposals (NO-PROPOSAL-CHOSEN).');
  t.match(e.text, 'A quick mode is also refused when the PFS settings differ: we use no PFS');
  t.match(e.text, 'filter-actions.secure.pfs = none');
  const rb = (await explain(bSocket!, 'gwA')).record;
  t.equal(rb?.reason, 'pfs-mismatch', 'gwB knows it was the PFS');
  t.equal(rb?.configField, 'filter-actions.secure.pfs');
});

t.test('sitelink vs sitelink: peer down', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'edn');
  const { e } = await failureOf(t, lab, dir, gwA('explain-down-psk'), null);
  if (!e) return;
  const r = e.record!;
  t.equal(r.reason, 'timeout');
  t.equal(r.silentAt, 'first-message');
  t.equal(r.unanswered, 'MM1 (our proposals)');
  t.same(r.configLines, [`peers.gwB.remote = ${LAB.gwBWan}`]);
  t.match(e.text, 'Why: The peer did not answer at all.');
  t.match(e.text, 'UDP 500 and 4500');
});

t.test('issue 19: an SPI-less NO-PROPOSAL-CHOSEN fails the quick mode at once', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'e19');
  const psk = 'explain-spiless-psk';
  const peer = await startTestPeer(lab.ns('gwB'), dir, {
    local: LAB.gwBWan, remote: LAB.natPublic, localId: 'gwB.lab', remoteId: 'gwA.lab', psk,
    localNet: LAB.subnetB, remoteNet: LAB.subnetA, pfsGroup: 14, refusal: 'spi-less',
  });
  t.teardown(() => terminate(peer.child, () => peer.child.exitCode !== null || peer.child.signalCode !== null, 2000));
  const ready = await waitUntil(() => peer.output().includes('"ready"'), 15_000, 100);
  t.ok(ready, `the test peer runs ${ready ? '' : peer.output()}`);
  // The default retransmission schedule (2 s doubling, give-up after 126 s): only the
  // notify can end the quick mode within seconds.
  const files = writeGatewayConfig(dir, 'gwA', { ...gwA(psk, { pfs: 'none' }), retransmit: undefined });
  const d = await Sitelinkd.start(lab.ns('gwA'), files);
  t.teardown(() => d.stop());
  const established = await waitUntil(() => /ISAKMP SA established/.test(d.logText()), 15_000, 100);
  t.ok(established, 'main mode with the test peer completed');
  const qm1At = Date.now();
  const failed = await waitForRecord(files.socket, 'gwB', 5_000, (r) => r.phase === 'quick');
  const tookMs = Date.now() - qm1At;
  if (!failed) t.comment(`gwA log:\n${d.logText().slice(-5000)}\ntest peer:\n${peer.output().slice(-3000)}`);
  t.ok(failed, `the quick mode failure was reported within 5 s (${tookMs} ms after main mode)`);
  t.match(peer.output(), 'NO-PROPOSAL-CHOSEN, protocol ISAKMP, SPI size 0', 'the peer sent the SPI-less form');
  t.match(peer.output(), 'held-back', 'and not the form naming the SPI');
  const e = await explain(files.socket, 'gwB');
  const r = e.record!;
  t.equal(r.reason, 'no-proposal-chosen', 'the reason is the notify, not a timeout');
  t.ok(r.configLines?.includes('filter-actions.secure.security-methods = aes128gcm16'), 'names the security-methods line');
  t.ok(r.configLines?.includes('filter-actions.secure.pfs = none'), 'names the pfs line');
  t.match(e.text, 'filter-actions.secure.pfs = none');
  t.match(e.text, 'filter-actions.secure.security-methods = aes128gcm16');
  const c = await controlRequest(files.socket, 'counters');
  t.ok(c.ike.quickModeFailed >= 1, `counted (quickModeFailed ${c.ike.quickModeFailed})`);
  t.notMatch(d.logText(), /QM1_SENT.*retransmit/, 'QM1 was never retransmitted');
});
