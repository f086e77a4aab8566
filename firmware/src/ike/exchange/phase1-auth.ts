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
import { verifyPeerCertificate, type PeerId } from '../crypto/x509-verify.ts';
import { AuthMethod, CertEncoding, IdType, PayloadType, payloadsOfType, type Identity, type IdPayload, type Payload, type PayloadSpan, type Phase1Auth } from '../wire/index.ts';
import type { IsakmpSa } from './isakmp-sa.ts';

export function authMethodOf(sa: Pick<IsakmpSa, 'peer'>): number {
  return sa.peer.signature?.method ?? AuthMethod.PRE_SHARED_KEY;
}

export function skeyidFor(sa: IsakmpSa, gxy: Buffer): Buffer | string {
  const prf = sa.suite!.hash;
  if (sa.peer.signature) return skeyidSignature(prf, sa.ni!, sa.nr!, gxy);
  if (!sa.peer.psk) return 'no pre-shared key configured for this peer';
  return skeyidPreSharedKey(prf, sa.peer.psk.reveal(), sa.ni!, sa.nr!);
}

function input(sa: IsakmpSa): Phase1HashInput {
  return { gxi: sa.gxi!, gxr: sa.gxr!, ckyI: sa.ckyI, ckyR: sa.ckyR, saiB: sa.saiB };
}

/** HASH_I (we are the initiator) or HASH_R, with the PRF the auth method calls for. */
function authHash(sa: IsakmpSa, forInitiator: boolean, idBody: Buffer): Buffer {
  const prf: HashAlgorithm = sa.peer.signature ? authHashPrf(sa.peer.signature.method, sa.suite!.hash) : sa.suite!.hash;
  return forInitiator ? hashI(prf, sa.keys!.skeyid, input(sa), idBody) : hashR(prf, sa.keys!.skeyid, input(sa), idBody);
}

/** Our MM5/MM6 authentication payload content. */
export function ourAuth(sa: IsakmpSa, idBody: Buffer): Phase1Auth {
  const h = authHash(sa, sa.role === 'initiator', idBody);
  const sig = sa.peer.signature;
  if (!sig) return { kind: 'hash', hash: h };
  return { kind: 'signature', signature: signAuthHash(sig.method, sig.privateKey, h), certificates: sig.certificates };
}

function peerIdOf(id: Identity): PeerId | null {
  switch (id.idType) {
    case IdType.IPV4_ADDR:
      return { type: 'ipv4', value: id.address };
    case IdType.IPV6_ADDR:
      return { type: 'ipv6', value: id.address };
    case IdType.FQDN:
      return { type: 'fqdn', value: id.name };
    case IdType.USER_FQDN:
      return { type: 'user_fqdn', value: id.name };
    case IdType.DER_ASN1_DN:
      return { type: 'der_asn1_dn', value: id.data };
    default:
      return null;
  }
}

export type AuthCheck = { ok: true; id: IdPayload } | { ok: false; reason: string };

/** Checks the peer's MM5 (we are responder) or MM6: ID present, HASH or SIG valid. */
export function verifyPeerAuth(sa: IsakmpSa, payloads: readonly Payload[], spans: readonly PayloadSpan[]): AuthCheck {
  const idIdx = payloads.findIndex((p) => p.type === PayloadType.ID);
  const id = payloads[idIdx];
  if (id === undefined || id.type !== PayloadType.ID) return { ok: false, reason: 'ID payload missing' };
  const expected = authHash(sa, sa.role === 'responder', spans[idIdx]!.body);
  const sig = sa.peer.signature;
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
  const v = verifyPeerCertificate(certs, peerId, sig.trust);
  if (!v.ok) return { ok: false, reason: `certificate rejected: ${v.reason}` };
  return verifyAuthHash(sig.method, v.publicKey, expected, sigPayload.data) ? { ok: true, id } : { ok: false, reason: 'signature does not verify' };
}
