// Phase 1 authentication, RFC 2409 §5: pre-shared key (HASH_I/HASH_R in a
// HASH payload) or signatures (§5.1: HASH_I/HASH_R signed, SIG payload, the
// chain in CERT payloads; ECDSA per RFC 4754 with its fixed hash). SKEYID
// differs by method: prf(psk, Ni_b|Nr_b) or prf(Ni_b|Nr_b, g^xy).

import { X509Certificate } from 'node:crypto';
import { hashI, hashR, type Phase1HashInput } from '../crypto/exchange-hash.ts';
import type { HashAlgorithm } from '../crypto/hash.ts';
import { constantTimeEqual } from '../crypto/secret.ts';
import { authHashPrf, signAuthHash, verifyAuthHash } from '../crypto/signature.ts';
import { skeyidPreSharedKey, skeyidSignature } from '../crypto/skeyid.ts';
import { verifyPeerCertificate } from '../crypto/x509-verify.ts';
import { authMethodsOf, peerIdOf } from '../common/peer-auth.ts';
import {
  AuthMethod,
  CertEncoding,
  IdType,
  PayloadType,
  payloadsOfType,
  type Identity,
  type IdPayload,
  type Payload,
  type PayloadSpan,
  type Phase1Auth,
} from '../wire/index.ts';
import type { AuthInput, IsakmpSa, Keyed, Negotiated } from './isakmp-sa.ts';
import type { PeerAuth, PeerPolicy, SignatureAuth } from './types.ts';

export { authMethodsOf } from '../common/peer-auth.ts';

/** RFC 2409 Appendix A Authentication Method value of one of our methods. */
export function wireAuthMethod(a: PeerAuth): number {
  return a.kind === 'psk' ? AuthMethod.PRE_SHARED_KEY : a.signature.method;
}

/** Config name of a wire Authentication Method (failure records, status). */
export function authMethodName(wire: number | undefined): string {
  switch (wire) {
    case AuthMethod.PRE_SHARED_KEY:
      return 'psk';
    case AuthMethod.RSA_SIGNATURES:
      return 'rsa-sig';
    case AuthMethod.ECDSA_SHA256_P256:
    case AuthMethod.ECDSA_SHA384_P384:
    case AuthMethod.ECDSA_SHA512_P521:
      return 'ecdsa-sig';
    default:
      return `auth${wire ?? '?'}`;
  }
}

/** Our method that a chosen transform names (the first of equal wire values). */
export function peerAuthFor(peer: PeerPolicy, wire: number | undefined): PeerAuth | undefined {
  return authMethodsOf(peer).find((a) => wireAuthMethod(a) === wire);
}

/** The negotiated signature method, or undefined for PSK. */
function signatureOf(n: { auth: PeerAuth }): SignatureAuth | undefined {
  return n.auth.kind === 'signature' ? n.auth.signature : undefined;
}

/** CA names for our CR payloads (RFC 2408 §3.10), when a signature method was chosen. */
export function certRequestsOf(n: { auth: PeerAuth }): Buffer[] | undefined {
  return signatureOf(n)?.caSubjects;
}

/** SKEYID for the negotiated method (RFC 2409 §5), or why there is none. */
export function skeyidFor(peer: PeerPolicy, n: Negotiated, ni: Buffer, nr: Buffer, gxy: Buffer): Buffer | string {
  const prf = n.suite.hash;
  if (n.auth.kind === 'signature') return skeyidSignature(prf, ni, nr, gxy);
  if (!peer.psk) return 'no pre-shared key configured for this peer';
  return skeyidPreSharedKey(prf, peer.psk.reveal(), ni, nr);
}

/** What an MM5/MM6 is authenticated with: the SA's cookies and role, its keys and the exchange's inputs. */
export type AuthMaterial = Keyed & AuthInput;

/** HASH_I (we are the initiator) or HASH_R, with the PRF the auth method calls for. */
function authHash(sa: IsakmpSa, m: AuthMaterial, forInitiator: boolean, idBody: Buffer): Buffer {
  const sig = signatureOf(m);
  const prf: HashAlgorithm = sig ? authHashPrf(sig.method, m.suite.hash) : m.suite.hash;
  const input: Phase1HashInput = { gxi: m.gxi, gxr: m.gxr, ckyI: sa.ckyI, ckyR: sa.ckyR, saiB: m.saiB };
  return forInitiator ? hashI(prf, m.keys.skeyid, input, idBody) : hashR(prf, m.keys.skeyid, input, idBody);
}

/** Our MM5/MM6 authentication payload content. */
export function ourAuth(sa: IsakmpSa, m: AuthMaterial, idBody: Buffer): Phase1Auth {
  const h = authHash(sa, m, sa.role === 'initiator', idBody);
  const sig = signatureOf(m);
  if (!sig) return { kind: 'hash', hash: h };
  return { kind: 'signature', signature: signAuthHash(sig.method, sig.privateKey, h), certificates: sig.certificates };
}

export type AuthCheck = { ok: true; id: IdPayload } | { ok: false; reason: string };

/** Checks the peer's MM5 (we are responder) or MM6: ID present, HASH or SIG valid. */
export function verifyPeerAuth(
  sa: IsakmpSa,
  m: AuthMaterial,
  payloads: readonly Payload[],
  spans: readonly PayloadSpan[],
  /** Wall-clock time for certificate validity and CRL freshness (ExchangeEnv.wallClock). */
  now: Date,
): AuthCheck {
  const idIdx = payloads.findIndex((p) => p.type === PayloadType.ID);
  const id = payloads[idIdx];
  const idSpan = spans[idIdx];
  if (id === undefined || id.type !== PayloadType.ID || idSpan === undefined) return { ok: false, reason: 'ID payload missing' };
  const expected = authHash(sa, m, sa.role === 'responder', idSpan.body);
  const sig = signatureOf(m);
  if (!sig) {
    const hash = payloadsOfType(payloads, PayloadType.HASH)[0];
    if (!hash) return { ok: false, reason: 'HASH payload missing' };
    return constantTimeEqual(expected, hash.data) ? { ok: true, id } : { ok: false, reason: `HASH_${sa.role === 'responder' ? 'I' : 'R'} mismatch` };
  }
  const sigPayload = payloadsOfType(payloads, PayloadType.SIG)[0];
  if (!sigPayload) return { ok: false, reason: 'SIG payload missing' };
  const peerId = peerIdOf(id.id);
  if (!peerId) return { ok: false, reason: `ID type ${id.id.idType} cannot be bound to a certificate` };
  let certs: X509Certificate[];
  try {
    certs = payloadsOfType(payloads, PayloadType.CERT)
      .filter((c) => c.encoding === CertEncoding.X509_SIGNATURE)
      .map((c) => new X509Certificate(c.data));
  } catch {
    return { ok: false, reason: 'unparsable certificate' };
  }
  if (certs.length === 0) return { ok: false, reason: 'no X.509 certificate in the message (RFC 2409 §5.1)' };
  const v = verifyPeerCertificate(certs, peerId, { ...sig.trust, now });
  if (!v.ok) return { ok: false, reason: `certificate rejected: ${v.reason}` };
  return verifyAuthHash(sig.method, v.publicKey, expected, sigPayload.data) ? { ok: true, id } : { ok: false, reason: 'signature does not verify' };
}
