// ICU's common data package (the icudtNNl.dat that libicudata.so carries as
// one symbol) as pure functions: parse the table of contents, and write a
// package holding a chosen subset of its items. Layout (ICU
// source/common/ucmndata.h, "CmnD" format 1):
//   MappedData header: u16 headerSize, u8 0xda, u8 0x27, UDataInfo ...
//   then, at headerSize: u32 count, count x { u32 nameOffset, u32 dataOffset }
//   (offsets from the start of the table), the NUL-terminated item names
//   (sorted: ICU looks items up by binary search), then the items, each
//   16-byte aligned. Only little-endian packages ("...l") are handled.
//
// Run as a script: node icu-data.mjs IN.dat OUT.dat LOCALE... (scripts/image/slim-icu)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** @typedef {{ name: string, data: Buffer }} Item */

/** @returns {{ header: Buffer, items: Item[] }} */
export function parsePackage(buf) {
  if (buf.length < 32 || buf[2] !== 0xda || buf[3] !== 0x27) throw new Error('not ICU data (bad magic)');
  const hs = buf.readUInt16LE(0);
  // UDataInfo: size(2) reserved(2) isBigEndian(1) charsetFamily(1) sizeofUChar(1) reserved(1) dataFormat(4)
  if (buf[4 + 4] !== 0) throw new Error('big-endian ICU data is not handled');
  if (buf.toString('latin1', 12, 16) !== 'CmnD') throw new Error(`not a common data package (format ${buf.toString('latin1', 12, 16)})`);
  if (hs + 4 > buf.length) throw new Error('truncated table of contents');
  const count = buf.readUInt32LE(hs);
  if (hs + 4 + count * 8 > buf.length) throw new Error('truncated table of contents');
  const entries = [];
  for (let i = 0; i < count; i++) {
    const nameAt = hs + buf.readUInt32LE(hs + 4 + i * 8);
    const dataAt = hs + buf.readUInt32LE(hs + 8 + i * 8);
    const nul = buf.indexOf(0, nameAt);
    if (nul < 0 || dataAt > buf.length) throw new Error(`item ${i}: offsets outside the package`);
    entries.push({ name: buf.toString('latin1', nameAt, nul), dataAt });
  }
  const items = entries.map((e, i) => {
    const end = i + 1 < entries.length ? entries[i + 1].dataAt : buf.length;
    if (end < e.dataAt) throw new Error(`item ${e.name}: data out of order`);
    return { name: e.name, data: buf.subarray(e.dataAt, end) };
  });
  return { header: buf.subarray(0, hs), items };
}

const align16 = (n) => (n + 15) & ~15;

/** A package with the same header and the given items (names kept in order). */
export function writePackage(header, items) {
  for (let i = 1; i < items.length; i++) {
    if (Buffer.compare(Buffer.from(items[i - 1].name, 'latin1'), Buffer.from(items[i].name, 'latin1')) >= 0) {
      throw new Error(`items not sorted at ${items[i].name}`);
    }
  }
  const tocHead = 4 + items.length * 8;
  const namesLen = items.reduce((n, it) => n + Buffer.byteLength(it.name, 'latin1') + 1, 0);
  // Offsets are from the table's start (just after the header); the header is
  // 16-byte aligned itself, so aligning table offsets aligns file offsets.
  let at = align16(tocHead + namesLen);
  const dataAt = items.map((it) => { const a = at; at = align16(at + it.data.length); return a; });
  // Padding is 0xaa, as ICU's own pkgdata writes it.
  const out = Buffer.alloc(header.length + at, 0xaa);
  header.copy(out, 0);
  const t = header.length;
  out.writeUInt32LE(items.length, t);
  let nameAt = tocHead;
  items.forEach((it, i) => {
    out.writeUInt32LE(nameAt, t + 4 + i * 8);
    out.writeUInt32LE(dataAt[i], t + 8 + i * 8);
    nameAt += out.write(it.name, t + nameAt, 'latin1');
    out[t + nameAt++] = 0;
    it.data.copy(out, t + dataAt[i]);
  });
  return out;
}

/**
 * Which items a router needs: everything that is not per-locale data for
 * other languages, not a legacy charset converter, not a word-break
 * dictionary for scripts without spaces, not a transliterator.
 * @param {string} name item name, e.g. "icudt76l/coll/de.res"
 * @param {Set<string>} locales locales to keep besides root, e.g. en, en_US
 */
export function keepItem(name, locales) {
  const parts = name.split('/');
  const leaf = parts[parts.length - 1] ?? '';
  const tree = parts.length > 2 ? parts[1] : '';
  if (tree === 'translit') return false;                 // no JS API uses transliteration
  if (tree === 'lang' || tree === 'region') return false; // language and region display names (Intl.DisplayNames)
  if (leaf === 'unames.icu') return false;               // Unicode character names (no JS API)
  if (leaf === 'confusables.cfu') return false;          // the spoof checker (no JS API)
  // Line breaking for Chinese/Japanese text and its phrase variants; the
  // plain rules (line.brk, line_loose.brk, ...) stay.
  if (tree === 'brkitr' && /(_cj|_phrase|_fi_sv)/.test(leaf)) return false;
  if (leaf.endsWith('.cnv')) return false;               // legacy charsets; UTF-8/16 and Latin-1 are built in
  if (leaf.endsWith('.dict')) return false;              // CJK/Thai/Lao/Khmer/Burmese word dictionaries
  // A locale id (BCP 47 shapes in ICU's spelling): language, then optional
  // Script, REGION or UN M.49 area, VARIANTs: "sr_Latn_BA", "es_419",
  // "en_US_POSIX". Lower-case words are not locales ("res_index").
  const locale = /^([a-z]{2,3}(?:_[A-Z][a-z]{3})?(?:_(?:[A-Z]{2}|[0-9]{3}))?(?:_[A-Z0-9]{4,8})*)\.res$/.exec(leaf);
  if (locale) return locales.has(locale[1] ?? '');
  return true;                                           // root, pools, indexes, supplemental data, normalization, ...
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [input, output, ...locales] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: icu-data.mjs IN.dat OUT.dat LOCALE...');
    process.exit(2);
  }
  const pkg = parsePackage(readFileSync(input));
  const keep = new Set(locales);
  const items = pkg.items.filter((it) => keepItem(it.name, keep));
  writeFileSync(output, writePackage(pkg.header, items));
  console.error(`[build-image] icu-data: kept ${items.length} of ${pkg.items.length} items (locales: root ${locales.join(' ')})`);
}
