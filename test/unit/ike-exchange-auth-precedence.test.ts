// Authentication methods in order of precedence (issue: policy model). IKEv1
// names the method in each phase 1 transform (RFC 2409 Appendix A), so the
// initiator offers every proposal once per method, and the responder picks by
// ITS precedence. A failed method is not retried with another one.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PeerAuth } from '../../firmware/src/ike/exchange/types.ts';
import { decodeMessage, parsePhase1Attributes, PayloadType, payloadsOfType } from '../../firmware/src/ike/wire/index.ts';
import { Harness } from './ike-exchange-harness.ts';
import { gatewaySignatureAuth, makeGatewayPki, opensslSkipReason } from '../lib/test-pki.ts';

const skip = opensslSkipReason() ?? false;

const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-ike-authprec-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
/** The SA payload of a datagram when it is a main mode first message (responder cookie zero). */
function mm1Sa(data: Buffer) {
  const msg = decodeMessage(data);
  if (!msg.ok || msg.value.encrypted || !msg.value.header.responderCookie.equals(Buffer.alloc(8))) return undefined;
  return payloadsOfType(msg.value.payloads, PayloadType.SA)[0];
}

/** The authentication methods of the transforms in the first MM1 on the wire. */
function mm1AuthMethods(h: Harness): number[] {
  const sa = h.wire.filter((d) => d.from === 'A').map((d) => mm1Sa(d.data)).find((x) => x !== undefined);
  return (sa?.proposals[0]?.transforms ?? []).map((tr) => {
    const a = parsePhase1Attributes(tr.attributes);
    return typeof a === 'string' ? -1 : (a.authMethod ?? -1);
  });
}

t.test('authentication method precedence', { skip }, async (t) => {
  makeGatewayPki(dir, 'ec');
  const sigA: PeerAuth = { kind: 'signature', signature: gatewaySignatureAuth(dir, 'gwA', 9) };
  const sigB: PeerAuth = { kind: 'signature', signature: gatewaySignatureAuth(dir, 'gwB', 9) };
  const psk: PeerAuth = { kind: 'psk' };

  t.test('the initiator offers each proposal once per method, in its order', async (t) => {
    const h = new Harness({ peerA: { auth: [sigA, psk] }, peerB: { auth: [sigB, psk] } });
    h.bringUp();
    // Harness peers have two proposals: ecdsa-sig (9) x 2, then psk (1) x 2.
    t.same(mm1AuthMethods(h), [9, 9, 1, 1]);
    t.same(h.failed, { A: [], B: [] });
    t.equal(h.a.status()[0]?.auth, 'ecdsa-sig', 'both prefer signatures: signatures are used');
    t.equal(h.b.status()[0]?.auth, 'ecdsa-sig');
    t.equal(h.installs.A.length, 2, 'tunnel up');
  });

  t.test("the responder picks by its own precedence, not the initiator's", async (t) => {
    const h = new Harness({ peerA: { auth: [sigA, psk] }, peerB: { auth: [psk, sigB] } });
    h.bringUp();
    t.same(h.failed, { A: [], B: [] });
    t.equal(h.b.status()[0]?.auth, 'psk', 'B prefers psk and A offers it');
    t.equal(h.a.status()[0]?.auth, 'psk', 'A follows the transform B chose');
    t.equal(h.installs.A.length, 2, 'tunnel up');
    t.notOk(h.wire.some((d) => d.data.length > 700), 'no certificate was sent');
  });

  t.test('one common method is enough', async (t) => {
    const h = new Harness({ peerA: { auth: [psk] }, peerB: { auth: [sigB, psk] } });
    h.bringUp();
    t.same(h.failed, { A: [], B: [] });
    t.equal(h.b.status()[0]?.auth, 'psk');
    t.equal(h.installs.B.length, 2);
  });

  t.test('no common method: NO-PROPOSAL-CHOSEN naming peers.<name>.auth', async (t) => {
    const h = new Harness({ peerA: { auth: [sigA] }, peerB: { auth: [psk] } });
    h.bringUp();
    t.match(h.failed.B[0], /no common authentication method: peer offers ecdsa-sig, we accept psk/);
    const d = h.failures.B[0];
    t.equal(d?.code, 'no-proposal-chosen');
    t.equal(d?.configField, 'peers.gwA.auth');
    t.same(d?.offered, ['ecdsa-sig']);
    t.same(d?.acceptable, ['psk']);
    t.match(h.failed.A[0], /NO_PROPOSAL_CHOSEN/);
    t.equal(h.installs.A.length + h.installs.B.length, 0);
  });

  t.test('a failed method is not retried with another', async (t) => {
    // Both would accept signatures, but psk comes first on both sides and the keys differ.
    const h = new Harness({ pskA: 'one secret', pskB: 'another secret', peerA: { auth: [psk, sigA] }, peerB: { auth: [psk, sigB] } });
    h.bringUp();
    h.advance(60_000);
    t.equal(h.failures.B[0]?.code, 'authentication-failed', 'the PSK method fails');
    const mm1s = h.wire.filter((d) => d.from === 'A' && mm1Sa(d.data) !== undefined);
    t.equal(
      new Set(mm1s.map((d) => d.data.subarray(0, 8).toString('hex'))).size,
      1,
      'exactly one main mode was started: no fallback to the signature method',
    );
    t.equal(h.installs.A.length + h.installs.B.length, 0);
    t.notOk(h.a.status().some((s) => s.state === 'ESTABLISHED'), 'nothing established');
  });
});
