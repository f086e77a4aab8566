// base/ip-text.ts answers exactly what Node's net.isIP does: fixed vectors
// (RFC 4291 §2.2 forms and near misses), then a property test over texts built
// from address pieces and mutated, with a fixed seed.
import t from 'tap';
import { isIP } from 'node:net';
import { ipBytes, ipFamily, isIPv4Text, isIPv6Text } from '../../firmware/src/base/ip-text.ts';
import { seededRandom } from '../lib/seeded-random.ts';

const VECTORS: [string, 0 | 4 | 6][] = [
  ['0.0.0.0', 4], ['255.255.255.255', 4], ['198.51.100.2', 4], ['1.2.3.04', 0], ['256.1.1.1', 0], ['1.2.3', 0],
  ['1.2.3.4.5', 0], ['1..2.3', 0], ['', 0], ['1.2.3.4 ', 0], [' 1.2.3.4', 0], ['1234.1.1.1', 0], ['01.1.1.1', 0],
  ['::', 6], ['::1', 6], ['1::', 6], ['2001:db8::1', 6], ['2001:DB8:0:0:8:800:200C:417A', 6], ['1:2:3:4:5:6:7:8', 6],
  ['1:2:3:4:5:6:7::', 6], ['::2:3:4:5:6:7:8', 6], ['1:2:3:4:5:6:7:8:9', 0], ['1:2:3:4:5:6:7', 0], ['1::2::3', 0],
  [':::', 0], ['1:::2', 0], [':1::2', 0], ['1::2:', 0], ['12345::', 0], ['g::', 0], ['::ffff:192.0.2.1', 6],
  ['::192.0.2.1', 6], ['1:2:3:4:5:6:192.0.2.1', 6], ['1:2:3:4:5:6::192.0.2.1', 0], ['1:2:3:4:5::192.0.2.1', 6],
  ['::1.2.3.04', 0], ['1.2.3.4::', 0], ['fe80::1%eth0', 6], ['fe80::1%', 0], ['fe80::1%eth 0', 0], ['fe80::1%a:b.c-d', 6],
  ['::%1', 6], ['%eth0', 0], ['1.2.3.4%eth0', 0], ['::1%%', 0], ['fe80::1%eth0%1', 0],
];

t.test('fixed vectors, and Node agrees with each', async (t) => {
  for (const [text, fam] of VECTORS) {
    t.equal(isIP(text), fam, `net.isIP(${JSON.stringify(text)}) is ${fam} (the vector itself)`);
    t.equal(ipFamily(text), fam, `ipFamily(${JSON.stringify(text)}) = ${fam}`);
  }
  t.equal(isIPv4Text('10.0.0.1'), true);
  t.equal(isIPv6Text('10.0.0.1'), false);
  t.equal(isIPv6Text('::a'), true);
});

/** Uniform [0, 1) from test/lib's seeded stream, read 64 KiB at a time. */
function rng(seed: string): () => number {
  const stream = seededRandom(seed);
  let buf: Buffer = Buffer.alloc(0), at = 0;
  return () => {
    if (at + 4 > buf.length) {
      buf = stream(65536);
      at = 0;
    }
    const v = buf.readUInt32BE(at);
    at += 4;
    return v / 0x100000000;
  };
}

t.test('property: ipFamily equals net.isIP on 200,000 generated texts', async (t) => {
  const r = rng('ip-text');
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const int = (n: number): number => Math.floor(r() * n);
  // Mostly well-formed pieces, so that both families are common; the rare bad
  // piece and the mutations below make the near misses.
  const hex = '0123456789abcdefABCDEF';
  const group = (): string =>
    r() < 0.97 ? Array.from({ length: 1 + int(4) }, () => pick([...hex])).join('') : pick(['', '12345', 'g', 'x1', '0000a']);
  const octet = (): string => (r() < 0.97 ? String(int(256)) : pick([String(256 + int(800)), `0${int(10)}`, '', '00', '1234']));
  const v4 = (): string => Array.from({ length: r() < 0.95 ? 4 : pick([3, 5]) }, octet).join('.');
  const v6 = (): string => {
    const gap = r() < 0.6;
    const n = gap ? int(8) : r() < 0.9 ? 8 : pick([7, 9]);
    const parts = Array.from({ length: n }, group);
    // An IPv4 tail takes the place of the last two groups.
    if (r() < 0.25 && n >= 2) parts.splice(n - 2, 2, v4());
    let s = parts.join(':');
    if (gap) {
      const cuts = [0, ...parts.map((_, i) => parts.slice(0, i + 1).join(':').length)];
      const at = r() < 0.9 ? pick(cuts) : int(s.length + 1);
      const left = s.slice(0, at).replace(/:$/, ''), right = s.slice(at).replace(/^:/, '');
      s = left + pick(['::', '::', '::', ':', ':::']) + right;
    }
    if (r() < 0.15) s += '%' + Array.from({ length: int(4) }, () => pick([...'eth0:.-_ %A'])).join('');
    return s;
  };
  const mutate = (s: string): string => {
    if (s.length === 0 || r() < 0.7) return s;
    const at = int(s.length);
    return pick([s.slice(0, at) + s.slice(at + 1), s.slice(0, at) + pick([...':.%0fG ']) + s.slice(at)]);
  };
  let mismatches = 0, four = 0, six = 0;
  const first: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    const s = mutate(r() < 0.3 ? v4() : v6());
    const want = isIP(s), got = ipFamily(s);
    if (want === 4) four++;
    if (want === 6) six++;
    if (want !== got) {
      mismatches++;
      if (first.length < 10) first.push(`${JSON.stringify(s)}: net.isIP ${want}, ipFamily ${got}`);
    }
  }
  t.equal(mismatches, 0, `no text where they differ${first.length ? `: ${first.join('; ')}` : ''}`);
  // The generator must reach both families, or the comparison above says little.
  t.ok(four > 30_000, `IPv4 texts among them: ${four}`);
  t.ok(six > 30_000, `IPv6 texts among them: ${six}`);
});

// ipBytes: the one IP text -> bytes parser (base/address.ts, dataplane/validate.ts and
// ike/crypto/nat-d.ts use it). RFC 4291 §2.2's own examples, then round trips.
const BYTE_VECTORS: [string, string | null][] = [
  ['192.0.2.33', 'c0000221'],
  ['0.0.0.0', '00000000'],
  ['255.255.255.255', 'ffffffff'],
  ['2001:DB8:0:0:8:800:200C:417A', '20010db8000000000008080020 0c417a'],
  ['2001:DB8::8:800:200C:417A', '20010db8000000000008080020 0c417a'],
  ['FF01::101', 'ff010000000000000000000000000101'],
  ['::1', '00000000000000000000000000000001'],
  ['::', '00000000000000000000000000000000'],
  ['0:0:0:0:0:0:13.1.68.3', '0000000000000000000000000d014403'],
  ['::13.1.68.3', '0000000000000000000000000d014403'],
  ['::FFFF:129.144.52.38', '00000000000000000000ffff81903426'],
  ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
  ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
  ['1:2:3:4:5::192.0.2.1', '0001000200030004000500 00c0000201'],
  ['fe80::1%eth0.100', 'fe800000000000000000000000000001'],
  ['fe80::1%a:b.c-d', 'fe800000000000000000000000000001'],
  ['1.2.3.04', null],
  ['1::2::3', null],
  ['', null],
  ['example.net', null],
];

t.test('ipBytes: RFC 4291 §2.2 forms, an IPv4 tail, zones dropped, non-addresses null', async (t) => {
  for (const [text, hex] of BYTE_VECTORS) {
    const got = ipBytes(text);
    t.equal(got === null ? null : Buffer.from(got).toString('hex'), hex === null ? null : hex.replace(/ /g, ''), JSON.stringify(text));
  }
});

t.test('property: ipBytes gives back the bytes of 100,000 addresses written every way', async (t) => {
  const r = rng('ip-bytes');
  const int = (n: number): number => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  /** One 16-bit group as text: any case, sometimes zero-padded to four digits. */
  const groupText = (g: number): string => {
    const h = g.toString(16);
    const padded = r() < 0.3 ? h.padStart(4, '0') : h;
    return r() < 0.3 ? padded.toUpperCase() : padded;
  };
  let failures = 0;
  const first: string[] = [];
  const check = (text: string, bytes: Uint8Array): void => {
    const got = ipBytes(text);
    if (got === null || Buffer.compare(Buffer.from(got), Buffer.from(bytes)) !== 0) {
      failures++;
      const hex = (x: Uint8Array | null): string => (x === null ? 'null' : Buffer.from(x).toString('hex'));
      if (first.length < 5) first.push(`${text} -> ${hex(got)}, want ${hex(bytes)}`);
    }
  };
  for (let i = 0; i < 100_000; i++) {
    if (r() < 0.2) {
      const b = Uint8Array.from({ length: 4 }, () => int(256));
      check(Array.from(b).join('.'), b);
      continue;
    }
    // Runs of zero groups are common in real addresses: zero about a third of them.
    const groups = Array.from({ length: 8 }, () => (r() < 0.35 ? 0 : int(0x10000)));
    const b = new Uint8Array(16);
    groups.forEach((g, k) => {
      b[2 * k] = g >> 8;
      b[2 * k + 1] = g & 0xff;
    });
    let parts = groups.map(groupText);
    // An IPv4 tail for the last two groups.
    if (r() < 0.25) parts = [...parts.slice(0, 6), `${b[12]}.${b[13]}.${b[14]}.${b[15]}`];
    // "::" for one run of zero groups (not the IPv4 tail's).
    let text = parts.join(':');
    const zeroRuns: [number, number][] = [];
    for (let k = 0; k < Math.min(parts.length, 6 + (parts.length === 8 ? 2 : 0)); k++) {
      if (groups[k] !== 0 || (k > 0 && groups[k - 1] === 0)) continue;
      let e = k;
      while (e + 1 < parts.length && groups[e + 1] === 0 && !(parts.length === 7 && e + 1 >= 6)) e++;
      zeroRuns.push([k, e]);
    }
    if (zeroRuns.length > 0 && r() < 0.8) {
      const [from, to] = pick(zeroRuns);
      const cut = from + int(to - from + 1); // any non-empty part of the run
      text = `${parts.slice(0, from).join(':')}::${parts.slice(cut + 1).join(':')}`;
    }
    if (r() < 0.1) text += pick(['%eth0', '%1', '%br-lan.10', '%a:b']);
    check(text, b);
  }
  t.equal(failures, 0, first.join('; ') || 'every text gave its bytes back');
});
