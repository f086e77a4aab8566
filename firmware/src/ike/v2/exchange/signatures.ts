// Which authentication we use in IKE_AUTH and how the peer's AUTH is checked
// (RFC 7296 §2.15, RFC 7427). IKEv2 does not negotiate the method: each side
// authenticates its own way. The peer's methods keep their configured order
// of precedence: the initiator uses its first usable method; the responder
// answers the way the initiator authenticated when it has that method, else
// with its own first. The peer's AUTH is accepted by any configured method:
// a shared key MIC needs the PSK, a signature a certificate chaining to the
// method's trusted roots (shared X.509 checks, ../../crypto/x509-verify.ts)
// that matches the peer's ID.

import { X509Certificate } from 'node:crypto';
import { authMethodsOf } from '../../common/peer-auth.ts';
import { sameDn } from '../../crypto/distinguished-name.ts';
import { verifyPeerCertificate } from '../../crypto/x509-verify.ts';
import { caKeyHash, certFields } from '../../crypto/x509-fields.ts';
import type { PeerAuth, SignatureAuth } from '../../exchange/types.ts';
import { pskAuth, signedOctets, verifyPskAuth } from '../crypto/authentication.ts';
import { intAuthOf } from './intermediate.ts';
import { signDigital, verifyDigital, verifyEcdsaFixed } from '../crypto/digital-signature.ts';
import { joinDigitalSignature, splitDigitalSignature } from '../wire/authentication.ts';
import { AuthMethod, CertEncoding, IdType, PayloadType } from '../wire/constants.ts';
import type { AuthPayload, CertPayload, IdPayload, Payload } from '../wire/payloads.ts';
import { certPeerId, idBody, idOf } from './identity.ts';
import type { IkeSaV2 } from './state.ts';

/** CERT payloads accepted from a peer: leaf and intermediates; more is not a chain we build. */
export const MAX_PEER_CERTS = 8;

type Id = Pick<IdPayload, 'idType' | 'data'>;

/** SK_pi/SK_pr for AUTH (RFC 8784 replaces them with the PPK-derived ones). */
export interface AuthKeys {
  pi: Buffer;
  pr: Buffer;
}

/** Our usable methods in order of precedence (PSK only with a secret). */
export function usableMethods(sa: IkeSaV2): PeerAuth[] {
  return authMethodsOf(sa.peer).filter((a) => a.kind !== 'psk' || sa.peer.psk !== null);
}

/** The method we authenticate with; `peerUsed` is how the initiator authenticated (responder only). */
export function ourMethod(sa: IkeSaV2, peerUsed?: PeerAuth['kind']): PeerAuth | null {
  const all = usableMethods(sa);
  return all.find((a) => a.kind === peerUsed) ?? all[0] ?? null;
}

/**
 * Our ID payload. A DN identity is sent as our certificate's own subject
 * bytes when it names the same DN (the peer then sees exactly the subject it
 * checks the certificate against).
 */
export function ourId(sa: IkeSaV2, method: PeerAuth): Id | null {
  const id = idOf(sa.peer.localId);
  if (!id || id.idType !== IdType.DER_ASN1_DN || method.kind !== 'signature') return id;
  const leaf = method.signature.certificates[0];
  if (!leaf) return id;
  const subject = certFields(leaf).subjectDer;
  return sameDn(subject, id.data) ? { idType: id.idType, data: subject } : id;
}

/** The §2.15 octets the initiator (`forInitiator`) or the responder signs / MACs. */
function octets(sa: IkeSaV2, forInitiator: boolean, id: Id, keys: AuthKeys): Buffer {
  return signedOctets({
    prf: sa.suite!.prf,
    realMessage: forInitiator ? sa.initRequest : sa.initResponse,
    peerNonce: forInitiator ? sa.nr : sa.ni,
    skP: forInitiator ? keys.pi : keys.pr,
    idBody: idBody(id),
    intAuth: intAuthOf(sa),
  });
}

/** Our AUTH payload content. Throws (SigningError) only when the key cannot sign for this peer. */
export function ourAuth(sa: IkeSaV2, method: PeerAuth, id: Id, keys: AuthKeys): Pick<AuthPayload, 'method' | 'data'> {
  const o = octets(sa, sa.role === 'initiator', id, keys);
  if (method.kind === 'psk') return { method: AuthMethod.SHARED_KEY_MIC, data: pskAuth(sa.suite!.prf, sa.peer.psk!.reveal(), o) };
  const s = signDigital(method.signature.privateKey, o, sa.peerHashes);
  return { method: AuthMethod.DIGITAL_SIGNATURE, data: joinDigitalSignature(s.algorithm, s.signature) };
}

/** CERT payloads with our chain, leaf first (RFC 7296 §3.6, encoding 4). */
export function certPayloads(method: PeerAuth): Payload[] {
  if (method.kind !== 'signature') return [];
  return method.signature.certificates.map((data) => ({ type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data }));
}

function signatureMethods(sa: IkeSaV2): SignatureAuth[] {
  return authMethodsOf(sa.peer).flatMap((a) => (a.kind === 'signature' ? [a.signature] : []));
}

/** A CERTREQ naming the CAs we trust (§3.7: SHA-1 of each SubjectPublicKeyInfo), or null without signature methods. */
export function certRequest(sa: IkeSaV2): Payload | null {
  const roots = signatureMethods(sa).flatMap((s) => s.trust.trustedRoots);
  if (roots.length === 0) return null;
  const hashes = [...new Map(roots.map((r) => [caKeyHash(r).toString('hex'), caKeyHash(r)])).values()];
  return { type: PayloadType.CERTREQ, encoding: CertEncoding.X509_SIGNATURE, data: Buffer.concat(hashes) };
}

export type PeerAuthResult = { ok: true; kind: PeerAuth['kind']; name: string } | { ok: false; reason: string };

/**
 * Checks the peer's AUTH (`data` overrides the payload's data, for RFC 8784
 * NO_PPK_AUTH) over its signed octets under `keys`. Never throws.
 */
export function verifyPeer(
  sa: IkeSaV2,
  id: Id,
  auth: Pick<AuthPayload, 'method' | 'data'>,
  certs: readonly CertPayload[],
  keys: AuthKeys,
  /** Wall-clock time for certificate validity and CRL freshness (ExchangeEnv.wallClock). */
  now: Date,
): PeerAuthResult {
  const o = octets(sa, sa.role === 'responder', id, keys);
  if (auth.method === AuthMethod.SHARED_KEY_MIC) {
    if (!authMethodsOf(sa.peer).some((a) => a.kind === 'psk') || sa.peer.psk === null)
      return { ok: false, reason: 'peer authenticated with a pre-shared key, which this peer is not configured for' };
    return verifyPskAuth(sa.suite!.prf, sa.peer.psk.reveal(), o, auth.data)
      ? { ok: true, kind: 'psk', name: 'psk' }
      : { ok: false, reason: 'AUTH does not verify: the pre-shared keys differ' };
  }
  const fixed = auth.method === 9 || auth.method === 10 || auth.method === 11;
  if (auth.method !== AuthMethod.DIGITAL_SIGNATURE && !fixed)
    return { ok: false, reason: `AUTH method ${auth.method} is not accepted (pre-shared key, RFC 7427 signatures or ECDSA)` };
  const sigs = signatureMethods(sa);
  if (sigs.length === 0) return { ok: false, reason: 'peer authenticated with a signature, but this peer is configured for psk only' };
  const x509 = certs.filter((c) => c.encoding === CertEncoding.X509_SIGNATURE);
  if (x509.length === 0) return { ok: false, reason: 'no X.509 certificate in IKE_AUTH (RFC 7296 §3.6)' };
  if (x509.length > MAX_PEER_CERTS) return { ok: false, reason: `${x509.length} certificates sent, at most ${MAX_PEER_CERTS} are read` };
  let chain: X509Certificate[];
  try {
    chain = x509.map((c) => new X509Certificate(c.data));
  } catch {
    return { ok: false, reason: 'unparsable certificate' };
  }
  const peerId = certPeerId(id);
  if (!peerId) return { ok: false, reason: `ID type ${id.idType} cannot be bound to a certificate` };
  let why = 'no signature method configured';
  for (const s of sigs) {
    const v = verifyPeerCertificate(chain, peerId, { ...s.trust, now });
    if (!v.ok) {
      why = `certificate rejected: ${v.reason}`;
      continue;
    }
    let r;
    if (fixed) r = verifyEcdsaFixed(v.publicKey, auth.method as 9 | 10 | 11, auth.data, o);
    else {
      const parts = splitDigitalSignature(auth);
      if (!parts) return { ok: false, reason: 'malformed RFC 7427 AUTH data' };
      r = verifyDigital(v.publicKey, Buffer.from(parts.algorithm), Buffer.from(parts.signature), o);
    }
    return r.ok ? { ok: true, kind: 'signature', name: r.scheme } : { ok: false, reason: r.reason };
  }
  return { ok: false, reason: why };
}
