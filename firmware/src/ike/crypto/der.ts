// A minimal DER reader (ITU-T X.690 §8/§10) for the few X.509/CRL fields node
// does not expose: the TBSCertList of a CRL, the subject Name bytes and the
// keyUsage extension of a certificate. Definite lengths only (DER), every
// read bounds-checked; anything else throws DerError.

export class DerError extends Error {
  override readonly name = 'DerError';
}

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export interface DerNode {
  /** The identifier octet (low-tag-number form only, X.690 §8.1.2.2). */
  readonly tag: number;
  /** Whole TLV. */
  readonly raw: Buffer;
  /** Value octets. */
  readonly content: Buffer;
}

/** Read one TLV starting at `offset`; returns it and the offset just past it. */
export function readNode(buf: Buffer, offset = 0): { node: DerNode; next: number } {
  if (offset + 2 > buf.length) throw new DerError('truncated TLV header');
  const tag = buf.readUInt8(offset);
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not supported');
  let len = buf.readUInt8(offset + 1);
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // 0x80 is the BER indefinite form, forbidden in DER (X.690 §10.1).
    if (n === 0 || n > 4) throw new DerError('unsupported length form');
    if (offset + 2 + n > buf.length) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf.readUInt8(offset + 2 + i);
    hdr += n;
  }
  const end = offset + hdr + len;
  if (end > buf.length) throw new DerError('value runs past the end');
  return {
    node: { tag, raw: buf.subarray(offset, end), content: buf.subarray(offset + hdr, end) },
    next: end,
  };
}

/** Parse a buffer that must hold exactly one TLV. */
export function parseDer(buf: Buffer): DerNode {
  const { node, next } = readNode(buf, 0);
  if (next !== buf.length) throw new DerError('trailing bytes after the DER value');
  return node;
}

/** The TLVs inside a constructed value. */
export function children(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DerError('not a constructed value');
  const out: DerNode[] = [];
  let off = 0;
  while (off < node.content.length) {
    const { node: c, next } = readNode(node.content, off);
    out.push(c);
    off = next;
  }
  return out;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return node;
}

/** Dotted-decimal form of an OBJECT IDENTIFIER (X.690 §8.19). */
export function oidString(node: DerNode): string {
  const c = expectTag(node, Tag.OID, 'OID').content;
  if (c.length === 0) throw new DerError('empty OID');
  const first = c.readUInt8(0);
  const parts: number[] = [Math.min(2, Math.floor(first / 40)), first - 40 * Math.min(2, Math.floor(first / 40))];
  let v = 0;
  for (let i = 1; i < c.length; i++) {
    const b = c.readUInt8(i);
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER) throw new DerError('OID arc too large');
    if ((b & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** INTEGER value octets as upper-case hex without leading zero octets (serial number form). */
export function integerHex(node: DerNode): string {
  const c = expectTag(node, Tag.INTEGER, 'INTEGER').content;
  let i = 0;
  while (i < c.length - 1 && c[i] === 0) i++;
  return c.subarray(i).toString('hex').toUpperCase();
}

/** BIT STRING payload; `unused` is the count of unused bits in the last octet. */
export function bitString(node: DerNode): { bytes: Buffer; unused: number } {
  const c = expectTag(node, Tag.BIT_STRING, 'BIT STRING').content;
  if (c.length === 0) throw new DerError('empty BIT STRING');
  const unused = c.readUInt8(0);
  if (unused > 7) throw new DerError('bad unused-bits count');
  return { bytes: c.subarray(1), unused };
}

/** UTCTime (YYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.1) or GeneralizedTime (YYYYMMDDHHMMSSZ). */
export function timeValue(node: DerNode): Date {
  const s = node.content.toString('latin1');
  let m: RegExpExecArray | null;
  let year: number;
  if (node.tag === Tag.UTC_TIME && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy; // RFC 5280 §4.1.2.5.1
  } else if (node.tag === Tag.GENERALIZED_TIME && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    year = Number(m[1]);
  } else {
    throw new DerError('not a UTCTime/GeneralizedTime in Zulu form');
  }
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  return new Date(Date.UTC(year, mo - 1, d, h, mi, se));
}

export function isTime(node: DerNode | undefined): boolean {
  return node !== undefined && (node.tag === Tag.UTC_TIME || node.tag === Tag.GENERALIZED_TIME);
}
