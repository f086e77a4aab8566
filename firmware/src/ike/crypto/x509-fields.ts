// Certificate fields node:crypto's X509Certificate does not expose in raw
// form (RFC 5280 §4.1): the DER subject/issuer Names (for ID_DER_ASN1_DN
// matching and CRL issuer matching) and the extensions (for keyUsage).

import { createHash, type X509Certificate } from 'node:crypto';
import { children, expectTag, oidString, parseDer, bitString, Tag } from './der.ts';
import type { DerNode } from './der.ts';

export interface CertFields {
  issuerDer: Buffer;
  subjectDer: Buffer;
  /** Extension OID -> extnValue contents (the DER inside the OCTET STRING). */
  extensions: Map<string, { critical: boolean; value: Buffer }>;
}

const OID_KEY_USAGE = '2.5.29.15';

export function certFields(raw: Buffer): CertFields {
  const cert = children(expectTag(parseDer(raw), Tag.SEQUENCE, 'Certificate'));
  const tbs = children(expectTag(cert[0], Tag.SEQUENCE, 'TBSCertificate'));
  // version [0] EXPLICIT is optional (v1 certificates omit it).
  let i = tbs[0]?.tag === 0xa0 ? 1 : 0;
  i += 2; // serialNumber, signature
  const issuer = expectTag(tbs[i], Tag.SEQUENCE, 'issuer');
  const subject = expectTag(tbs[i + 2], Tag.SEQUENCE, 'subject');
  const extensions = new Map<string, { critical: boolean; value: Buffer }>();
  const extWrapper = tbs.slice(i + 4).find((n) => n.tag === 0xa3); // [3] EXPLICIT Extensions
  if (extWrapper) {
    for (const ext of children(expectTag(children(extWrapper)[0], Tag.SEQUENCE, 'Extensions'))) {
      const parts = children(ext);
      const id = oidString(expectTag(parts[0], Tag.OID, 'extnID'));
      const critical = parts[1]?.tag === Tag.BOOLEAN ? parts[1].content[0] !== 0 : false;
      const value = expectTag(parts[parts.length - 1], Tag.OCTET_STRING, 'extnValue').content;
      extensions.set(id, { critical, value });
    }
  }
  return { issuerDer: Buffer.from(issuer.raw), subjectDer: Buffer.from(subject.raw), extensions };
}

/**
 * keyUsage digitalSignature bit (RFC 5280 §4.2.1.3: bit 0, the most
 * significant bit of the first octet). undefined when the extension is absent.
 */
export function hasDigitalSignatureUsage(fields: CertFields): boolean | undefined {
  const ku = fields.extensions.get(OID_KEY_USAGE);
  if (!ku) return undefined;
  const node: DerNode = parseDer(ku.value);
  const { bytes } = bitString(node);
  return bytes.length > 0 && (bytes.readUInt8(0) & 0x80) !== 0;
}

/** SHA-1 of a CA's SubjectPublicKeyInfo: what an IKEv2 CERTREQ lists (RFC 7296 §3.7). */
export function caKeyHash(ca: X509Certificate): Buffer {
  return createHash('sha1').update(ca.publicKey.export({ type: 'spki', format: 'der' })).digest();
}
