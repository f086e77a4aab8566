// Certificate fields node:crypto's X509Certificate does not expose in raw
// form (RFC 5280 §4.1): the DER subject/issuer Names (for ID_DER_ASN1_DN
// matching and CRL issuer matching) and the extensions (for keyUsage and the
// CRL distribution points).

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
const OID_CRL_DISTRIBUTION_POINTS = '2.5.29.31';

/** At most this many distribution point URLs are taken from one certificate. */
export const MAX_DISTRIBUTION_POINTS = 4;
/** Longer URIs are skipped (a CA's are short; this bounds what a peer's certificate makes us fetch). */
export const MAX_DISTRIBUTION_POINT_LENGTH = 512;

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

/**
 * The http:// URLs of the cRLDistributionPoints extension (RFC 5280 §4.2.1.13), in
 * certificate order, at most MAX_DISTRIBUTION_POINTS:
 *
 *   CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint
 *   DistributionPoint ::= SEQUENCE {
 *     distributionPoint [0] DistributionPointName OPTIONAL,
 *     reasons           [1] ReasonFlags OPTIONAL,
 *     cRLIssuer         [2] GeneralNames OPTIONAL }
 *   DistributionPointName ::= CHOICE { fullName [0] GeneralNames, nameRelativeToCRLIssuer [1] ... }
 *   GeneralName ::= CHOICE { ... uniformResourceIdentifier [6] IA5String ... }
 *
 * The module's tags are IMPLICIT, so [0] distributionPoint is constructed (0xa0, it
 * wraps a CHOICE), fullName is 0xa0 around the GeneralNames, a URI is 0x86. Points
 * with `reasons` (a partitioned CRL) or `cRLIssuer` (an indirect CRL, signed by
 * someone else) are skipped: the CRL checks accept only complete CRLs signed by the
 * certificate's issuer. So are non-http URIs (ldap:, and https: whose own certificate
 * check would need a CRL first, RFC 5280 §4.2.1.13 and §8) and anything that is not
 * printable ASCII. Throws DerError when the extension is malformed.
 */
export function crlDistributionPoints(fields: CertFields): string[] {
  const ext = fields.extensions.get(OID_CRL_DISTRIBUTION_POINTS);
  if (!ext) return [];
  const urls: string[] = [];
  for (const dp of children(expectTag(parseDer(ext.value), Tag.SEQUENCE, 'CRLDistributionPoints'))) {
    const parts = children(expectTag(dp, Tag.SEQUENCE, 'DistributionPoint'));
    if (parts.some((p) => p.tag === 0x81 || p.tag === 0xa1 || p.tag === 0xa2)) continue;
    const name = parts.find((p) => p.tag === 0xa0);
    const fullName = name ? children(name).find((n) => n.tag === 0xa0) : undefined;
    if (!fullName) continue;
    for (const gn of children(fullName)) {
      if (gn.tag !== 0x86 || gn.content.length > MAX_DISTRIBUTION_POINT_LENGTH) continue;
      if (!gn.content.every((b) => b > 0x20 && b < 0x7f)) continue;
      const uri = gn.content.toString('latin1');
      if (!/^http:\/\/[^/?#]+/i.test(uri) || urls.includes(uri)) continue;
      urls.push(uri);
      if (urls.length === MAX_DISTRIBUTION_POINTS) return urls;
    }
  }
  return urls;
}
