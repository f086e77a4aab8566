// scripts/image/drop-unwind-tables.mjs, which zeroes the unwind tables of the
// image's libraries that never unwind (libnode, libcrypto, libssl): on
// libraries built here, a C one loses its tables and still runs; one that
// catches C++ exceptions is refused, as is a file that is not ELF64.
import t from 'tap';
import path from 'node:path';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { repoRoot } from '../lib/paths.ts';

interface Drop { dropUnwindTables(elf: Buffer): number }
const mod = (await import(path.join(repoRoot, 'scripts', 'image', 'drop-unwind-tables.mjs'))) as Drop;

const dir = mkdtempSync(path.join(tmpdir(), 'unwind-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

t.test('a C library: tables zeroed, PT_GNU_EH_FRAME gone, still runs', async (t) => {
  writeFileSync(path.join(dir, 'lib.c'), 'int twice(int x) { return 2 * x; }\n');
  writeFileSync(path.join(dir, 'main.c'), '#include <stdio.h>\nint twice(int);\nint main(void) { printf("%d\\n", twice(21)); return 0; }\n');
  sh('cc', ['-shared', '-fPIC', '-fasynchronous-unwind-tables', '-o', 'libtwice.so', 'lib.c']);
  sh('cc', ['-o', 'main', 'main.c', '-L.', '-ltwice', '-Wl,-rpath,$ORIGIN']);
  t.match(sh('readelf', ['-lW', 'libtwice.so']), /GNU_EH_FRAME/, 'built with unwind tables');

  const lib = path.join(dir, 'libtwice.so');
  const elf = readFileSync(lib);
  const before = Buffer.from(elf);
  const zeroed = mod.dropUnwindTables(elf);
  t.ok(zeroed > 0, `${zeroed} bytes zeroed`);
  writeFileSync(lib, elf);

  t.notMatch(sh('readelf', ['-lW', 'libtwice.so']), /GNU_EH_FRAME/, 'no PT_GNU_EH_FRAME left');
  const sections = sh('readelf', ['-SW', 'libtwice.so']);
  const allowed: Array<[number, number]> = [];
  for (const name of ['.eh_frame', '.eh_frame_hdr']) {
    const m = new RegExp(`\\${name}\\s+PROGBITS\\s+[0-9a-f]+\\s+([0-9a-f]+)\\s+([0-9a-f]+)`).exec(sections);
    if (!m?.[1] || !m[2]) { t.fail(`${name} not found`); continue; }
    const off = parseInt(m[1], 16), size = parseInt(m[2], 16);
    t.ok(size > 0 && elf.subarray(off, off + size).every((b) => b === 0), `${name}: all zero`);
    allowed.push([off, off + size]);
  }
  // The program header that was PT_GNU_EH_FRAME: its type field only.
  const phoff = Number(before.readBigUInt64LE(0x20)), phentsize = before.readUInt16LE(0x36);
  for (let i = 0; i < before.readUInt16LE(0x38); i++) {
    const h = phoff + i * phentsize;
    if (before.readUInt32LE(h) === 0x6474e550) allowed.push([h, h + 4]);
  }
  let outside = 0;
  for (let i = 0; i < elf.length; i++) {
    if (elf[i] !== before[i] && !allowed.some(([a, b]) => i >= a && i < b)) outside++;
  }
  t.equal(outside, 0, 'no byte changed outside the tables and that type field');
  t.equal(sh(path.join(dir, 'main'), []), '42\n', 'a program linked to it still runs');
});

t.test('a library that catches exceptions is refused', async (t) => {
  writeFileSync(path.join(dir, 'catch.cc'),
    '#include <stdexcept>\nextern "C" int guarded(int x) { try { if (x) throw std::runtime_error("x"); } catch (...) { return 1; } return 0; }\n');
  sh('c++', ['-shared', '-fPIC', '-o', 'libcatch.so', 'catch.cc']);
  const elf = readFileSync(path.join(dir, 'libcatch.so'));
  const copy = Buffer.from(elf);
  t.throws(() => mod.dropUnwindTables(elf), /it unwinds \(imports .*(__gxx_personality_v0|__cxa_begin_catch)/);
  t.ok(elf.equals(copy), 'and left as it was');
});

t.test('not ELF64', async (t) => {
  t.throws(() => mod.dropUnwindTables(Buffer.from('#!/bin/sh\necho not a library\n'.padEnd(80))), /not an ELF64 little-endian object/);
});
