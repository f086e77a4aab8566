// scripts/image/icu-data.mjs: ICU common data packages (the data inside
// libicudata.so) parsed and rewritten with a subset of their items, as
// scripts/image/slim-icu does for the image. Round trips on a package built
// here; the real Debian package was checked byte for byte the same way
// (parse + write of icudt76l gives the identical 31 MB).
import t from 'tap';
import path from 'node:path';
import { repoRoot } from '../lib/paths.ts';

interface Item { name: string; data: Buffer }
interface IcuData {
  parsePackage(buf: Buffer): { header: Buffer; items: Item[] };
  writePackage(header: Buffer, items: Item[]): Buffer;
  keepItem(name: string, locales: Set<string>): boolean;
}
const modPath: string = path.join(repoRoot, 'scripts', 'image', 'icu-data.mjs');
const icu = (await import(modPath)) as IcuData;

/** A MappedData header + UDataInfo for a little-endian "CmnD" package (32 bytes). */
function header(bigEndian = false, format = 'CmnD'): Buffer {
  const h = Buffer.alloc(32);
  h.writeUInt16LE(32, 0);
  h[2] = 0xda; h[3] = 0x27;
  h.writeUInt16LE(20, 4);          // UDataInfo.size
  h[8] = bigEndian ? 1 : 0;        // isBigEndian
  h[10] = 2;                       // sizeofUChar
  h.write(format, 12, 'latin1');   // dataFormat
  h[16] = 1;                       // formatVersion 1
  return h;
}
const items: Item[] = [
  { name: 'icudt76l/coll/de.res', data: Buffer.from('collation de') },
  { name: 'icudt76l/coll/root.res', data: Buffer.from('collation root, longer than sixteen bytes') },
  { name: 'icudt76l/de.res', data: Buffer.from('de') },
  { name: 'icudt76l/en.res', data: Buffer.from('en') },
  { name: 'icudt76l/ibm-943_P15A-2003.cnv', data: Buffer.alloc(40, 7) },
  { name: 'icudt76l/nfc.nrm', data: Buffer.from('nfc') },
  { name: 'icudt76l/root.res', data: Buffer.from('root') },
];

t.test('write then parse gives the items back, and rewriting is byte-identical', async (t) => {
  const pkg = icu.writePackage(header(), items);
  t.equal(pkg.length % 16, 0, 'the package ends 16-byte aligned');
  const back = icu.parsePackage(pkg);
  t.same(back.items.map((i) => i.name), items.map((i) => i.name), 'names in order');
  back.items.forEach((it, i) => {
    const want = items[i]?.data ?? Buffer.alloc(0);
    t.same(it.data.subarray(0, want.length), want, `${it.name}: data`);
    t.equal((it.data.byteOffset - pkg.byteOffset) % 16, 0, `${it.name}: 16-byte aligned`);
  });
  t.same(icu.writePackage(back.header, back.items), pkg, 'parse + write is the identity');
});

t.test('keepItem: root and the chosen locales, never other languages or legacy charsets', async (t) => {
  const en = new Set(['en', 'en_US']);
  const cases: Array<[string, boolean]> = [
    ['icudt76l/root.res', true], ['icudt76l/en.res', true], ['icudt76l/en_US.res', true],
    ['icudt76l/de.res', false], ['icudt76l/sr_Latn_BA.res', false], ['icudt76l/coll/zh.res', false],
    ['icudt76l/coll/root.res', true], ['icudt76l/coll/ucadata.icu', true], ['icudt76l/zone/en.res', true],
    ['icudt76l/pool.res', true], ['icudt76l/res_index.res', true], ['icudt76l/zoneinfo64.res', true], ['icudt76l/es_419.res', false],
    ['icudt76l/en_US_POSIX.res', false], ['icudt76l/icuver.res', true], ['icudt76l/ca_ES_VALENCIA.res', false],
    ['icudt76l/supplementalData.res', true], ['icudt76l/nfc.nrm', true], ['icudt76l/uts46.nrm', true],
    ['icudt76l/brkitr/word.brk', true], ['icudt76l/brkitr/cjdict.dict', false],
    ['icudt76l/ibm-943_P15A-2003.cnv', false], ['icudt76l/translit/root.res', false],
    ['icudt76l/lang/en.res', false], ['icudt76l/region/pool.res', false], ['icudt76l/unames.icu', false],
    ['icudt76l/brkitr/line.brk', true], ['icudt76l/brkitr/line_loose_cj.brk', false], ['icudt76l/brkitr/line_normal_phrase_cj.brk', false],
    ['icudt76l/curr/en.res', true], ['icudt76l/unit/pool.res', true], ['icudt76l/uts46.nrm', true],
  ];
  for (const [name, keep] of cases) t.equal(icu.keepItem(name, en), keep, `${name}: ${keep ? 'kept' : 'dropped'}`);
});

t.test('a filtered package parses and holds only the kept items', async (t) => {
  const back = icu.parsePackage(icu.writePackage(header(), items));
  const kept = back.items.filter((i) => icu.keepItem(i.name, new Set(['en'])));
  const slim = icu.parsePackage(icu.writePackage(back.header, kept));
  t.same(slim.items.map((i) => i.name), ['icudt76l/coll/root.res', 'icudt76l/en.res', 'icudt76l/nfc.nrm', 'icudt76l/root.res']);
});

t.test('bad input is refused with a reason', async (t) => {
  const good = icu.writePackage(header(), items);
  const badMagic = Buffer.from(good); badMagic[2] = 0;
  t.throws(() => icu.parsePackage(badMagic), /bad magic/);
  t.throws(() => icu.parsePackage(icu.writePackage(header(true), items)), /big-endian/);
  t.throws(() => icu.parsePackage(icu.writePackage(header(false, 'ResB'), items)), /not a common data package/);
  t.throws(() => icu.parsePackage(good.subarray(0, 40)), /truncated/);
  const wild = Buffer.from(good); wild.writeUInt32LE(0x7fffffff, 32 + 8); // first item's data offset
  t.throws(() => icu.parsePackage(wild), /outside the package|out of order/);
  t.throws(() => icu.writePackage(header(), [items[1] as Item, items[0] as Item]), /not sorted/);
});
