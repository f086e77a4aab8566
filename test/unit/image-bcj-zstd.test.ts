// The image's "deferred-zstd" packing (scripts/image/common.sh): the ARM64
// branch filter of scripts/image/bcj-arm64.mjs, checked against xz's own ARM64
// filter in both directions, and the board's decoder scripts/image/unbcj-zstd.c
// (built here for this host against libzstd) undoing zstd + the filter, also
// across zstd frames, buffer edges and a tail that is no whole word, and
// refusing truncated, corrupt and empty input.
import t from 'tap';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../lib/paths.ts';

interface Bcj { encodeArm64(buf: Buffer): Buffer }
const bcj = (await import(path.join(repoRoot, 'scripts', 'image', 'bcj-arm64.mjs'))) as Bcj;

const dir = mkdtempSync(path.join(tmpdir(), 'bcj-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[], input?: Buffer): { status: number | null; out: Buffer; err: string } {
  const r = spawnSync(cmd, args, { input, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return { status: r.status, out: r.stdout, err: r.stderr.toString() };
}

/** Arm64 code to filter: the cross toolchain's libc (real BL/ADRP), else made up. */
function arm64Code(): Buffer {
  const libc = '/usr/aarch64-linux-gnu/lib/libc.so.6';
  if (existsSync(libc)) return readFileSync(libc);
  return synthetic(1 << 21);
}

/** Random words with BL and ADRP (in and out of the converted range) mixed in. */
function synthetic(bytes: number): Buffer {
  const b = randomBytes(bytes);
  for (let off = 0; off + 4 <= bytes; off += 4) {
    const k = off % 64;
    if (k === 0) b.writeUInt32LE((0x94000000 | (b.readUInt32LE(off) & 0x03ffffff)) >>> 0, off); // BL
    if (k === 16) b.writeUInt32LE(((b.readUInt32LE(off) & 0x60ffffe0) | 0x90000000 | 3) >>> 0, off); // ADRP x3, any page
    if (k === 32) b.writeUInt32LE(((b.readUInt32LE(off) & 0x6000ffe0) | 0x90000000) >>> 0, off); // ADRP, small offsets
  }
  return b;
}

const xzRaw = (filters: string[], decode: boolean, input: Buffer): Buffer => {
  const r = run('xz', ['-F', 'raw', ...filters, '--lzma2=preset=0', decode ? '-dc' : '-c'], input);
  if (r.status !== 0) throw new Error(`xz: ${r.err}`);
  return r.out;
};

t.test('bcj-arm64.mjs is xz\'s ARM64 filter', async (t) => {
  for (const [name, data] of [['arm64 libc', arm64Code()], ['synthetic', synthetic(300_003)]] as const) {
    const enc = bcj.encodeArm64(Buffer.from(data));
    t.not(Buffer.compare(enc, data), 0, `${name}: the filter changed something`);
    // xz's encoder (arm64 then LZMA2), decoded by LZMA2 alone: xz's filtered bytes.
    t.ok(xzRaw([], true, xzRaw(['--arm64'], false, data)).equals(enc), `${name}: the same bytes as xz --arm64 makes`);
    // And ours, LZMA2 only, decoded by xz with its ARM64 filter: the original.
    t.ok(xzRaw(['--arm64'], true, xzRaw([], false, enc)).equals(data), `${name}: xz --arm64 decodes it to the original`);
  }
});

const decoder = path.join(dir, 'unbcj-zstd');
const cc = run('cc', ['-std=c11', '-D_POSIX_C_SOURCE=200809L', '-O2', '-Wall', '-Wextra', '-Werror',
  '-o', decoder, path.join(repoRoot, 'scripts', 'image', 'unbcj-zstd.c'), '-lzstd']);

const noBuild = cc.status === 0 ? false : `no host build (libzstd-dev, scripts/setup): ${cc.err}`;
t.test('unbcj-zstd.c undoes zstd and the filter', { skip: noBuild }, async (t) => {
  const zstd = (b: Buffer, level = '-3'): Buffer => run('zstd', ['-q', '-c', level, '--single-thread'], b).out;
  const decode = (b: Buffer) => run(decoder, [], b);

  // 4 MiB and a 3-byte tail: several 1 MiB output rounds, words carried across them.
  const data = Buffer.concat([synthetic(4 << 20), Buffer.from([1, 2, 3])]);
  const enc = bcj.encodeArm64(Buffer.from(data));
  const one = decode(zstd(enc));
  t.equal(one.status, 0, one.err);
  t.ok(one.out.equals(data), 'one frame: the original bytes');

  // Two frames split at an odd offset: filter positions run on across them.
  const cut = 1_234_567;
  const two = decode(Buffer.concat([zstd(enc.subarray(0, cut)), zstd(enc.subarray(cut))]));
  t.equal(two.status, 0, two.err);
  t.ok(two.out.equals(data), 'two frames: the original bytes');

  const real = arm64Code();
  const lib = decode(zstd(bcj.encodeArm64(Buffer.from(real)), '-19'));
  t.ok(lib.status === 0 && lib.out.equals(real), 'arm64 code at the image\'s level');

  const packed = zstd(enc);
  const truncated = decode(packed.subarray(0, packed.length - 100));
  t.equal(truncated.status, 1, 'truncated: exit 1');
  t.match(truncated.err, /truncated stream/);

  const corrupt = Buffer.from(packed);
  corrupt.fill(0x55, 200, 400);
  const bad = decode(corrupt);
  t.equal(bad.status, 1, `corrupt: exit 1 (${bad.err.trim()})`);
  t.match(bad.err, /^unbcj-zstd: /);

  const empty = decode(Buffer.alloc(0));
  t.equal(empty.status, 1, 'empty input: exit 1');
  t.match(empty.err, /empty input/);
});
