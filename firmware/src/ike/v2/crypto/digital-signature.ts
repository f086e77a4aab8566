// IKEv2 Digital Signature authentication (RFC 7427): AUTH method 14, whose
// data is | AlgorithmIdentifier length:8 | AlgorithmIdentifier | signature |
// over the signed octets of RFC 7296 §2.15, with the hash the signer picks
// from those the peer announced in SIGNATURE_HASH_ALGORITHMS (§4).
//
// We sign with RSASSA-PSS (RFC 8017 §8.1; RFC 7427 §3.2, MGF1 with the same
// hash, salt as long as the hash, as in RFC 7427 Appendix A.4.3) for RSA keys
// and ECDSA (DER Ecdsa-Sig-Value, RFC 7427 §3.1 / RFC 5480) for EC keys, SHA-2
// only. We verify those, and PKCS#1 v1.5 with SHA-2 (sha*WithRSAEncryption),
// which strongSwan uses for RSA unless rsa_pss is set. The RFC 4754 methods
// 9/10/11 (ECDSA with the hash fixed by the curve, r | s) verify too. SHA-1
// and the RFC 7296 method 1 (PKCS#1 v1.5 with SHA-1) are refused as weak.
// Signing is OpenSSL's (node:crypto): the ECDSA nonce and the PSS salt are
// its own randomness, not ExchangeEnv.random, as for IKEv1's ECDSA.

import { constants, sign, verify, type KeyObject } from 'node:crypto';
import { children, DerError, expectTag, oidString, parseDer, Tag, type DerNode } from '../../crypto/der.ts';
import { integer, NULL, oid, tlv } from '../../crypto/der-encode.ts';

/** RFC 7427 §7 / IANA "IKEv2 Hash Algorithms". */
export const SignatureHash = {
  SHA1: 1,
  SHA2_256: 2,
  SHA2_384: 3,
  SHA2_512: 4,
} as const;

interface HashInfo {
  id: number;
  name: 'sha256' | 'sha384' | 'sha512';
  oid: string;
  length: number;
}

const HASHES: readonly HashInfo[] = [
  { id: SignatureHash.SHA2_256, name: 'sha256', oid: '2.16.840.1.101.3.4.2.1', length: 32 },
  { id: SignatureHash.SHA2_384, name: 'sha384', oid: '2.16.840.1.101.3.4.2.2', length: 48 },
  { id: SignatureHash.SHA2_512, name: 'sha512', oid: '2.16.840.1.101.3.4.2.3', length: 64 },
];

/** The hashes we announce (SIGNATURE_HASH_ALGORITHMS) and accept. */
export const OUR_HASHES: readonly number[] = HASHES.map((h) => h.id);

const OID_RSA_PSS = '1.2.840.113549.1.1.10';
const OID_MGF1 = '1.2.840.113549.1.1.8';
const OID_RSA_PKCS1: Record<string, HashInfo> = {
  '1.2.840.113549.1.1.11': HASHES[0]!,
  '1.2.840.113549.1.1.12': HASHES[1]!,
  '1.2.840.113549.1.1.13': HASHES[2]!,
};
const OID_ECDSA: Record<string, HashInfo> = {
  '1.2.840.10045.4.3.2': HASHES[0]!,
  '1.2.840.10045.4.3.3': HASHES[1]!,
  '1.2.840.10045.4.3.4': HASHES[2]!,
};
const ECDSA_OID_OF: Record<string, string> = { sha256: '1.2.840.10045.4.3.2', sha384: '1.2.840.10045.4.3.3', sha512: '1.2.840.10045.4.3.4' };
const CURVE_HASH: Record<string, HashInfo> = { prime256v1: HASHES[0]!, secp384r1: HASHES[1]!, secp521r1: HASHES[2]! };

/** SIGNATURE_HASH_ALGORITHMS notify data: a list of 16-bit hash identifiers (RFC 7427 §4). */
export function encodeHashList(ids: readonly number[]): Buffer {
  const b = Buffer.alloc(2 * ids.length);
  ids.forEach((id, i) => b.writeUInt16BE(id, 2 * i));
  return b;
}

/** The hash identifiers a SIGNATURE_HASH_ALGORITHMS notify lists (an odd trailing byte is ignored). */
export function decodeHashList(data: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 2 <= data.length && out.length < 32; i += 2) out.push(data.readUInt16BE(i));
  return out;
}

/** RSASSA-PSS AlgorithmIdentifier (RFC 4055 §3.1) with `h`, MGF1-`h` and a salt of h.length bytes. */
export function pssAlgorithmId(h: HashInfo): Buffer {
  const hashId = tlv(Tag.SEQUENCE, oid(h.oid), NULL);
  const params = tlv(
    Tag.SEQUENCE,
    tlv(0xa0, hashId),
    tlv(0xa1, tlv(Tag.SEQUENCE, oid(OID_MGF1), hashId)),
    tlv(0xa2, integer(h.length)),
  );
  return tlv(Tag.SEQUENCE, oid(OID_RSA_PSS), params);
}

export function ecdsaAlgorithmId(h: HashInfo): Buffer {
  return tlv(Tag.SEQUENCE, oid(ECDSA_OID_OF[h.name]!));
}

export function hashInfo(id: number): HashInfo | undefined {
  return HASHES.find((h) => h.id === id);
}

export class SigningError extends Error {
  override readonly name = 'SigningError';
}

/**
 * Signs `octets` with our key for AUTH method 14. `peerHashes` is what the
 * peer announced (empty: it sent no SIGNATURE_HASH_ALGORITHMS; SHA-256 is
 * then used, RFC 7427 §4 making it the one every implementation has).
 */
export function signDigital(key: KeyObject, octets: Buffer, peerHashes: readonly number[]): { algorithm: Buffer; signature: Buffer } {
  const usable = HASHES.filter((h) => peerHashes.length === 0 || peerHashes.includes(h.id));
  if (key.asymmetricKeyType === 'rsa') {
    const h = usable[0];
    if (!h) throw new SigningError('the peer accepts no SHA-2 hash for signatures');
    const signature = sign(h.name, octets, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: h.length });
    return { algorithm: pssAlgorithmId(h), signature };
  }
  if (key.asymmetricKeyType === 'ec') {
    const natural = CURVE_HASH[key.asymmetricKeyDetails?.namedCurve ?? ''];
    const h = natural && usable.includes(natural) ? natural : usable[0];
    if (!h || !natural) throw new SigningError('no usable hash for this EC key');
    return { algorithm: ecdsaAlgorithmId(h), signature: sign(h.name, octets, { key, dsaEncoding: 'der' }) };
  }
  throw new SigningError(`cannot sign with a ${key.asymmetricKeyType ?? 'unknown'} key`);
}

type Scheme =
  | { kind: 'pss'; hash: HashInfo; saltLength: number }
  | { kind: 'pkcs1'; hash: HashInfo }
  | { kind: 'ecdsa'; hash: HashInfo };

function hashOfAlgId(node: DerNode): HashInfo | undefined {
  const parts = children(expectTag(node, Tag.SEQUENCE, 'AlgorithmIdentifier'));
  const id = oidString(expectTag(parts[0], Tag.OID, 'algorithm'));
  return HASHES.find((h) => h.oid === id);
}

/** RFC 4055 §3.1 parameters; absent fields take SHA-1 defaults, which are refused. */
function pssScheme(params: DerNode | undefined): Scheme | string {
  if (!params) return 'RSASSA-PSS without parameters means SHA-1';
  let hash: HashInfo | undefined;
  let mgfHash: HashInfo | undefined;
  let salt = 20;
  for (const f of children(expectTag(params, Tag.SEQUENCE, 'RSASSA-PSS-params'))) {
    const inner = children(f)[0];
    if (f.tag === 0xa0) hash = hashOfAlgId(inner!);
    else if (f.tag === 0xa1) {
      const mgf = children(expectTag(inner, Tag.SEQUENCE, 'maskGenAlgorithm'));
      if (oidString(expectTag(mgf[0], Tag.OID, 'mgf')) !== OID_MGF1) return 'RSASSA-PSS with a mask generation function other than MGF1';
      mgfHash = hashOfAlgId(mgf[1]!);
    } else if (f.tag === 0xa2) {
      const c = expectTag(inner, Tag.INTEGER, 'saltLength').content;
      if (c.length > 2) return 'RSASSA-PSS salt length out of range';
      salt = c.reduce((n, b) => n * 256 + b, 0);
    } else if (f.tag === 0xa3) {
      const c = expectTag(inner, Tag.INTEGER, 'trailerField').content;
      if (c.length !== 1 || c[0] !== 1) return 'RSASSA-PSS trailer field other than 1';
    }
  }
  if (!hash) return 'RSASSA-PSS with SHA-1 (refused as weak)';
  if (mgfHash !== hash) return 'RSASSA-PSS whose MGF1 hash differs from the signature hash';
  return { kind: 'pss', hash, saltLength: salt };
}

/** What an RFC 7427 AlgorithmIdentifier asks for, or why it is refused. */
export function schemeOf(algorithm: Buffer): Scheme | string {
  try {
    const parts = children(expectTag(parseDer(algorithm), Tag.SEQUENCE, 'AlgorithmIdentifier'));
    const id = oidString(expectTag(parts[0], Tag.OID, 'algorithm'));
    if (id === OID_RSA_PSS) return pssScheme(parts[1]);
    if (OID_RSA_PKCS1[id]) return { kind: 'pkcs1', hash: OID_RSA_PKCS1[id] };
    if (OID_ECDSA[id]) return { kind: 'ecdsa', hash: OID_ECDSA[id] };
    return `signature algorithm ${id} is not accepted (SHA-2 with RSA, RSASSA-PSS or ECDSA only)`;
  } catch (e) {
    if (e instanceof DerError) return `unreadable AlgorithmIdentifier: ${e.message}`;
    throw e;
  }
}

/** Short name for logs and status, e.g. `rsa-pss-sha256`, `ecdsa-sha384`. */
export function schemeName(s: Scheme): string {
  return `${s.kind === 'pss' ? 'rsa-pss' : s.kind === 'pkcs1' ? 'rsa' : 'ecdsa'}-${s.hash.name}`;
}

export type SignatureCheck = { ok: true; scheme: string } | { ok: false; reason: string };

/** Verifies method-14 AUTH data parts against the peer's certificate key. Never throws. */
export function verifyDigital(key: KeyObject, algorithm: Buffer, signature: Buffer, octets: Buffer): SignatureCheck {
  const s = schemeOf(algorithm);
  if (typeof s === 'string') return { ok: false, reason: s };
  const type = key.asymmetricKeyType;
  if ((s.kind === 'ecdsa') !== (type === 'ec') || (type !== 'ec' && type !== 'rsa')) {
    return { ok: false, reason: `${schemeName(s)} signature but the certificate holds a ${type ?? 'unknown'} key` };
  }
  try {
    const good =
      s.kind === 'pss'
        ? verify(s.hash.name, octets, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: s.saltLength }, signature)
        : s.kind === 'pkcs1'
          ? verify(s.hash.name, octets, { key, padding: constants.RSA_PKCS1_PADDING }, signature)
          : verify(s.hash.name, octets, { key, dsaEncoding: 'der' }, signature);
    return good ? { ok: true, scheme: schemeName(s) } : { ok: false, reason: `${schemeName(s)} signature does not verify` };
  } catch {
    return { ok: false, reason: `${schemeName(s)} signature does not verify` };
  }
}

/** RFC 4754 §3 (IKEv2 AUTH methods 9/10/11): ECDSA with the curve's hash, signature r | s. Never throws. */
export function verifyEcdsaFixed(key: KeyObject, method: 9 | 10 | 11, signature: Buffer, octets: Buffer): SignatureCheck {
  const want = { 9: 'prime256v1', 10: 'secp384r1', 11: 'secp521r1' }[method];
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== want) {
    return { ok: false, reason: `AUTH method ${method} needs a ${want} certificate key` };
  }
  const h = CURVE_HASH[want]!;
  try {
    return verify(h.name, octets, { key, dsaEncoding: 'ieee-p1363' }, signature)
      ? { ok: true, scheme: `ecdsa-${h.name}` }
      : { ok: false, reason: `ecdsa-${h.name} signature does not verify` };
  } catch {
    return { ok: false, reason: `ecdsa-${h.name} signature does not verify` };
  }
}
