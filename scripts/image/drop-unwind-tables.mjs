// Drops the DWARF unwind tables (.eh_frame, .eh_frame_hdr) of shared libraries
// that never unwind through their own frames, for the image's size (issue 14):
// libnode's are 3.7 MB (0.9 MB packed). Those tables serve C++ exceptions and
// diagnostic backtraces only. A library qualifies when it neither throws nor
// catches: it imports none of the symbols exception handling goes through
// (UNWIND_USERS; Debian builds Node with -fno-exceptions, OpenSSL is C), so an
// exception could only pass through its frames to std::terminate, which is
// what it reaches without the tables too. A library that does import one is
// refused, and the build stops.
//
// The bytes are zeroed in place (the layout and every other byte stay, and
// zeros pack to nothing) and the PT_GNU_EH_FRAME program header becomes
// PT_NULL, so an unwinder finds no table for the library instead of a broken
// one. ELF64 little-endian only (the arm64 board).
//
// Usage: node drop-unwind-tables.mjs LIB...
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const UNWIND_USERS = new Set([
  '__gxx_personality_v0', // C++ landing pads (catch, destructors on unwind)
  '__gcc_personality_v0', // C cleanups (-fexceptions)
  '_Unwind_Resume',
  '_Unwind_RaiseException',
  '_Unwind_ForcedUnwind',
  '__cxa_begin_catch',
  '__cxa_throw',
  '__cxa_rethrow',
]);
const SHT_DYNSYM = 11;
const PT_NULL = 0;
const PT_GNU_EH_FRAME = 0x6474e550;

function cString(buf, off) {
  const end = buf.indexOf(0, off);
  return buf.toString('latin1', off, end < 0 ? buf.length : end);
}

/** The library's sections: name, type, file offset, size, link. */
function sections(elf) {
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  if (shoff === 0 || shnum === 0 || shoff + shnum * shentsize > elf.length) throw new Error('no section table');
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    raw.push({
      nameOff: elf.readUInt32LE(h),
      type: elf.readUInt32LE(h + 4),
      offset: Number(elf.readBigUInt64LE(h + 24)),
      size: Number(elf.readBigUInt64LE(h + 32)),
      link: elf.readUInt32LE(h + 40),
    });
  }
  const names = raw[shstrndx];
  if (!names) throw new Error('no section name table');
  return raw.map((s) => ({ ...s, name: cString(elf, names.offset + s.nameOff) }));
}

/** Names of the undefined dynamic symbols. */
function imports(elf, secs) {
  const dynsym = secs.find((s) => s.type === SHT_DYNSYM);
  if (!dynsym) return [];
  const dynstr = secs[dynsym.link];
  if (!dynstr) throw new Error('.dynsym without its string table');
  const out = [];
  for (let off = dynsym.offset; off + 24 <= dynsym.offset + dynsym.size; off += 24) {
    if (elf.readUInt16LE(off + 6) === 0 /* SHN_UNDEF */) out.push(cString(elf, dynstr.offset + elf.readUInt32LE(off)));
  }
  return out;
}

/**
 * Zeroes `elf`'s unwind tables in place. Returns the bytes zeroed; throws when
 * the library uses unwinding or is not ELF64 little-endian.
 */
export function dropUnwindTables(elf) {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) {
    throw new Error('not an ELF64 little-endian object');
  }
  const secs = sections(elf);
  const users = imports(elf, secs).filter((n) => UNWIND_USERS.has(n.split('@')[0] ?? n));
  if (users.length > 0) throw new Error(`it unwinds (imports ${users.join(', ')}): keep its tables`);
  let zeroed = 0;
  for (const s of secs) {
    if (s.name !== '.eh_frame' && s.name !== '.eh_frame_hdr') continue;
    if (s.offset + s.size > elf.length) throw new Error(`${s.name} lies past the end of the file`);
    elf.fill(0, s.offset, s.offset + s.size);
    zeroed += s.size;
  }
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * phentsize;
    if (h + 4 <= elf.length && elf.readUInt32LE(h) === PT_GNU_EH_FRAME) elf.writeUInt32LE(PT_NULL, h);
  }
  return zeroed;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const lib of process.argv.slice(2)) {
    const elf = readFileSync(lib);
    try {
      const n = dropUnwindTables(elf);
      writeFileSync(lib, elf);
      console.error(`[build-image] drop-unwind-tables: ${basename(lib)}: ${(n / 1048576).toFixed(1)} MiB zeroed`);
    } catch (e) {
      console.error(`drop-unwind-tables: ${lib}: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    }
  }
}
