/**
 * Reads the upgrade bundle: a POSIX ustar / GNU tar archive (scripts/flash bundle) of
 * plain files with plain names. Anything else (directories, links, devices, paths,
 * extended headers, duplicate names, a bad header checksum, data past the end) is
 * refused, so a bundle can never name a file outside the slot it is written to.
 *
 * Header layout (POSIX.1-1988 ustar, 512 bytes): name 0..99, mode 100..107,
 * uid 108..115, gid 116..123, size 124..135 (octal), mtime 136..147,
 * chksum 148..155 (octal sum of the header with this field read as spaces),
 * typeflag 156 ('0' or NUL = regular file), linkname 157..256, magic 257..262
 * ("ustar\0" POSIX, "ustar " GNU), prefix 345..499 (POSIX only). Data follows in
 * 512-byte blocks; the archive ends with two zero blocks.
 */
export class BundleError extends Error {}

export interface TarEntry {
  name: string;
  data: Buffer;
}

const BLOCK = 512;
export const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

function field(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? len : nul).toString('latin1');
}

function octal(h: Buffer, start: number, len: number, what: string): number {
  const s = field(h, start, len).trim();
  if (!/^[0-7]{1,12}$/.test(s)) throw new BundleError(`bundle: bad ${what} field in a tar header`);
  const n = Number.parseInt(s, 8);
  if (!Number.isSafeInteger(n)) throw new BundleError(`bundle: ${what} out of range`);
  return n;
}

function checksumOk(h: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
  return octal(h, 148, 8, 'checksum') === sum;
}

const isZero = (b: Buffer): boolean => b.every((x) => x === 0);

/** The archive's members, in order. Throws BundleError on anything but plain files. */
export function readTar(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  const seen = new Set<string>();
  let off = 0;
  for (;;) {
    if (off + BLOCK > buf.length) throw new BundleError('bundle: truncated tar archive (no end marker)');
    const h = buf.subarray(off, off + BLOCK);
    if (isZero(h)) {
      // End of archive: what follows must be zero padding only.
      if (!isZero(buf.subarray(off))) throw new BundleError('bundle: data after the end of the tar archive');
      return out;
    }
    if (!checksumOk(h)) throw new BundleError('bundle: tar header checksum mismatch');
    const magic = field(h, 257, 6);
    if (magic !== 'ustar' && magic !== 'ustar ') throw new BundleError('bundle: not a ustar archive');
    const type = String.fromCharCode(h[156] ?? 0);
    const name = field(h, 0, 100);
    const prefix = magic === 'ustar' ? field(h, 345, 155) : '';
    if (type !== '0' && type !== '\0') throw new BundleError(`bundle: member ${JSON.stringify(name)} is not a regular file`);
    if (prefix !== '' || !MEMBER_NAME.test(name)) throw new BundleError(`bundle: member has a bad name ${JSON.stringify(prefix + name)}`);
    if (seen.has(name)) throw new BundleError(`bundle: member ${name} appears twice`);
    seen.add(name);
    const size = octal(h, 124, 12, 'size');
    const start = off + BLOCK;
    if (start + size > buf.length) throw new BundleError(`bundle: member ${name} is truncated`);
    out.push({ name, data: buf.subarray(start, start + size) });
    off = start + Math.ceil(size / BLOCK) * BLOCK;
  }
}

/** Writes a ustar archive of plain files (for tests and tools; members in the given order). */
export function writeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (!MEMBER_NAME.test(e.name)) throw new BundleError(`bad member name ${e.name}`);
    const h = Buffer.alloc(BLOCK);
    h.write(e.name, 0, 'latin1');
    h.write('0000644\0', 100, 'latin1');
    h.write('0000000\0', 108, 'latin1');
    h.write('0000000\0', 116, 'latin1');
    h.write(`${e.data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    h.write('00000000000\0', 136, 'latin1');
    h[156] = 0x30;
    h.write('ustar\0' + '00', 257, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const x of h) sum += x;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    parts.push(h, e.data, Buffer.alloc((BLOCK - (e.data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
