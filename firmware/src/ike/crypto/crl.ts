// X.509 CRL parsing and verification (RFC 5280 §5). node:crypto has no CRL
// parser, so the TBSCertList is read with der.ts:
//
//   CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
//   TBSCertList ::= SEQUENCE {
//     version INTEGER OPTIONAL, signature AlgorithmIdentifier, issuer Name,
//     thisUpdate Time, nextUpdate Time OPTIONAL,
//     revokedCertificates SEQUENCE OF SEQUENCE {
//       userCertificate INTEGER, revocationDate Time, crlEntryExtensions OPTIONAL } OPTIONAL,
//     crlExtensions [0] EXPLICIT Extensions OPTIONAL }
//
// The signature is checked over the raw TBSCertList bytes with the issuer's
// public key.

import { verify as cryptoVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { bitString, children, DerError, expectTag, integerHex, isTime, oidString, parseDer, Tag, timeValue } from './der.ts';

export interface Crl {
  issuerDer: Buffer;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Revoked serial numbers, upper-case hex without leading zero octets. */
  revoked: Set<string>;
  tbs: Buffer;
  signatureAlgorithm: string;
  signature: Buffer;
}

// RFC 4055 §5 / RFC 5758 §3.2 signature algorithm OIDs -> digest. ECDSA
// signatures are DER Ecdsa-Sig-Value, node's default dsaEncoding.
const SIG_ALGS: ReadonlyMap<string, string> = new Map([
  ['1.2.840.113549.1.1.5', 'sha1'], // sha1WithRSAEncryption
  ['1.2.840.113549.1.1.11', 'sha256'],
  ['1.2.840.113549.1.1.12', 'sha384'],
  ['1.2.840.113549.1.1.13', 'sha512'],
  ['1.2.840.10045.4.1', 'sha1'], // ecdsa-with-SHA1
  ['1.2.840.10045.4.3.2', 'sha256'],
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
]);

/** Accepts DER or a PEM "X509 CRL" block. Throws DerError on malformed input. */
export function parseCrl(input: Buffer): Crl {
  const der = pemToDer(input);
  const top = children(expectTag(parseDer(der), Tag.SEQUENCE, 'CertificateList'));
  const tbsNode = expectTag(top[0], Tag.SEQUENCE, 'TBSCertList');
  const algNode = children(expectTag(top[1], Tag.SEQUENCE, 'signatureAlgorithm'));
  const sig = bitString(expectTag(top[2], Tag.BIT_STRING, 'signatureValue'));
  if (sig.unused !== 0) throw new DerError('signature BIT STRING with unused bits');

  const f = children(tbsNode);
  let i = 0;
  if (f[i]?.tag === Tag.INTEGER) i++; // version v2
  const innerAlg = oidString(expectTag(children(expectTag(f[i++], Tag.SEQUENCE, 'signature'))[0], Tag.OID, 'alg'));
  const issuer = expectTag(f[i++], Tag.SEQUENCE, 'issuer');
  const thisNode = f[i++];
  if (!thisNode || !isTime(thisNode)) throw new DerError('thisUpdate missing');
  const thisUpdate = timeValue(thisNode);
  let nextUpdate: Date | undefined;
  if (isTime(f[i])) nextUpdate = timeValue(f[i++] as NonNullable<(typeof f)[number]>);
  const revoked = new Set<string>();
  if (f[i]?.tag === Tag.SEQUENCE) {
    for (const entry of children(f[i++] as NonNullable<(typeof f)[number]>)) {
      const e = children(expectTag(entry, Tag.SEQUENCE, 'revoked entry'));
      revoked.add(integerHex(expectTag(e[0], Tag.INTEGER, 'userCertificate')));
    }
  }
  const outerAlg = oidString(expectTag(algNode[0], Tag.OID, 'signatureAlgorithm'));
  // RFC 5280 §5.1.1.2: the two algorithm fields MUST match.
  if (outerAlg !== innerAlg) throw new DerError('CRL signature algorithm fields disagree');
  return {
    issuerDer: Buffer.from(issuer.raw),
    thisUpdate,
    nextUpdate,
    revoked,
    tbs: Buffer.from(tbsNode.raw),
    signatureAlgorithm: outerAlg,
    signature: Buffer.from(sig.bytes),
  };
}

/** True when the CRL's signature verifies under the issuer's key with a supported algorithm. */
export function verifyCrlSignature(crl: Crl, issuerKey: KeyObject): boolean {
  const digest = SIG_ALGS.get(crl.signatureAlgorithm);
  if (!digest) return false;
  try {
    return cryptoVerify(digest, crl.tbs, issuerKey, crl.signature);
  } catch {
    return false;
  }
}

function pemToDer(input: Buffer): Buffer {
  const text = input.subarray(0, 64).toString('latin1');
  if (!text.includes('-----BEGIN')) return input;
  const m = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(input.toString('latin1'));
  if (!m?.[1]) throw new DerError('PEM input without an X509 CRL block');
  return Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
}

/** Normalise a serial (node's X509Certificate.serialNumber) like integerHex does. */
export function normaliseSerial(hex: string): string {
  const s = hex.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  const even = s.length % 2 ? '0' + s : s;
  let i = 0;
  while (i < even.length - 2 && even.startsWith('00', i)) i += 2;
  return even.slice(i);
}
