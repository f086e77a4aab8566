// CERT (RFC 7296 §3.6) and CERTREQ (§3.7) payloads, one body shape:
//   | encoding:8 | data |
// CERT data is the certificate (X.509 DER for encoding 4); CERTREQ data is a
// concatenation of 20-byte SHA-1 hashes of trusted CA public keys
// (SubjectPublicKeyInfo), possibly empty.

import { CertEncoding, PayloadType } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import type { CertPayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export const CA_HASH_LENGTH = 20;

export function decodeCert(type: CertPayload['type'], body: Buffer, base: number): WireResult<CertPayload> {
  if (body.length < 1) return fail('certificate payload without an encoding byte', base, NotifyType.INVALID_SYNTAX);
  const encoding = body[0]!;
  const data = Buffer.from(body.subarray(1));
  if (type === PayloadType.CERT && data.length === 0) return fail('CERT payload without data', base + 1, NotifyType.INVALID_SYNTAX);
  if (type === PayloadType.CERTREQ && encoding === CertEncoding.X509_SIGNATURE && data.length % CA_HASH_LENGTH !== 0) {
    return fail(`CERTREQ data is ${data.length} bytes, not a list of 20-byte hashes`, base + 1, NotifyType.INVALID_SYNTAX);
  }
  return ok({ type, encoding, data });
}

export function encodeCert(p: Pick<CertPayload, 'encoding' | 'data'>): Buffer {
  return Buffer.concat([Buffer.from([p.encoding]), p.data]);
}

/** The CA key hashes a CERTREQ lists (encoding 4). */
export function certReqHashes(p: Pick<CertPayload, 'data'>): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + CA_HASH_LENGTH <= p.data.length; i += CA_HASH_LENGTH) out.push(p.data.subarray(i, i + CA_HASH_LENGTH));
  return out;
}
