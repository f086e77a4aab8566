// Distinguished names (X.501 Name, RFC 5280 §4.1.2.4) as identities:
// ID_DER_ASN1_DN (RFC 7296 §3.5, RFC 2407 §4.6.2.1) carries a DER Name, the
// configuration writes it as text the way strongSwan does, in DER order:
//   dn:O=sitelink lab, CN=gwB.lab     (or /O=sitelink lab/CN=gwB.lab)
// Two names are the same identity when they have the same attribute types
// with the same values in the same order; the ASN.1 string type (UTF8String,
// PrintableString, ...) and the case of the text do not count, so a name
// typed in a config matches the certificate's however its CA encoded it
// (RFC 5280 §7.1 compares after such a normalisation).

import { children, DerError, expectTag, oidString, parseDer, Tag } from './der.ts';
import { oid, tlv } from './der-encode.ts';

const ATTRIBUTES: readonly (readonly [string, string])[] = [
  ['C', '2.5.4.6'],
  ['ST', '2.5.4.8'],
  ['L', '2.5.4.7'],
  ['O', '2.5.4.10'],
  ['OU', '2.5.4.11'],
  ['CN', '2.5.4.3'],
  ['SN', '2.5.4.4'],
  ['serialNumber', '2.5.4.5'],
  ['DC', '0.9.2342.19200300.100.1.25'],
  ['E', '1.2.840.113549.1.9.1'],
];
const BY_NAME = new Map(ATTRIBUTES.map(([n, o]) => [n.toLowerCase(), o]));
BY_NAME.set('emailaddress', '1.2.840.113549.1.9.1');
const BY_OID = new Map(ATTRIBUTES.map(([n, o]) => [o, n]));

export interface DnAttribute {
  oid: string;
  value: string;
}

/** Parses `O=x, CN=y` or `/O=x/CN=y`; an error string for text that is not a DN this daemon can write. */
export function parseDnText(text: string): DnAttribute[] | string {
  const s = text.trim();
  const parts = s.startsWith('/') ? s.slice(1).split('/') : s.split(',');
  const out: DnAttribute[] = [];
  for (const p of parts) {
    const eq = p.indexOf('=');
    if (eq <= 0) return `"${p.trim()}" is not TYPE=value`;
    const name = p.slice(0, eq).trim();
    const value = p.slice(eq + 1).trim();
    const id = BY_NAME.get(name.toLowerCase()) ?? (/^\d+(\.\d+)+$/.test(name) ? name : undefined);
    if (!id) return `unknown attribute type "${name}" (known: ${ATTRIBUTES.map((a) => a[0]).join(', ')})`;
    if (value.length === 0 || value.length > 256) return `attribute ${name} needs a value of 1..256 characters`;
    out.push({ oid: id, value });
  }
  return out.length > 0 ? out : 'an empty distinguished name';
}

/** DER Name with one attribute per RDN; C in PrintableString, e-mail in IA5String, the rest UTF8String (openssl's defaults). */
export function encodeDn(attrs: readonly DnAttribute[]): Buffer {
  const rdns = attrs.map((a) => {
    const tag = a.oid === '2.5.4.6' ? 0x13 : a.oid === '1.2.840.113549.1.9.1' ? 0x16 : 0x0c;
    return tlv(Tag.SET, tlv(Tag.SEQUENCE, oid(a.oid), tlv(tag, Buffer.from(a.value, 'utf8'))));
  });
  return tlv(Tag.SEQUENCE, ...rdns);
}

/** The attributes of a DER Name in order (multi-valued RDNs flattened). Throws DerError. */
export function decodeDn(der: Buffer): DnAttribute[] {
  const out: DnAttribute[] = [];
  for (const rdn of children(expectTag(parseDer(der), Tag.SEQUENCE, 'Name'))) {
    for (const atv of children(expectTag(rdn, Tag.SET, 'RelativeDistinguishedName'))) {
      const [type, value] = children(expectTag(atv, Tag.SEQUENCE, 'AttributeTypeAndValue'));
      if (!value) throw new DerError('attribute without a value');
      out.push({ oid: oidString(expectTag(type, Tag.OID, 'AttributeType')), value: value.content.toString(value.tag === 0x1e ? 'utf16le' : 'utf8') });
    }
  }
  return out;
}

const canonical = (attrs: readonly DnAttribute[]): string =>
  attrs.map((a) => `${a.oid}=${a.value.trim().replace(/\s+/g, ' ').toLowerCase()}`).join('\n');

/** Same identity (see the header); false when either is not a readable Name. */
export function sameDn(a: Buffer, b: Buffer): boolean {
  try {
    return canonical(decodeDn(a)) === canonical(decodeDn(b));
  } catch {
    return false;
  }
}

/** `O=sitelink lab, CN=gwB.lab` for logs; printable characters only. */
export function dnText(der: Buffer): string {
  try {
    return decodeDn(der)
      .map((a) => `${BY_OID.get(a.oid) ?? a.oid}=${a.value.replace(/[^\x20-\x7e]/g, '?')}`)
      .join(', ');
  } catch {
    return `dn:${der.toString('hex')}`;
  }
}
