// The ARM64 branch/call filter (BCJ) of xz 5.4+ ("--arm64"), encoder side, for
// the image's zstd-packed deferred archives (compressor "deferred-zstd",
// scripts/image/common.sh). zstd has no such filter; this is what lets it come
// within reach of xz on arm64 code: BL and ADRP carry PC-relative offsets,
// which differ at every call site of one function; made absolute (relative to
// the stream's start) they repeat, and the compressor finds them. The board
// undoes it after zstd (scripts/image/unbcj-zstd.c), several times faster than
// xz's own decoder. The transform is the one xz documents for its ARM64 filter
// (xz(1), "--arm64"; the filter's start offset is 0): test/unit/bcj-arm64.test.ts
// checks this output against xz's.
//
// Usage: node bcj-arm64.mjs < IN > OUT   (the whole input, one stream)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Encodes `buf` in place. Instructions are the 4-byte-aligned little-endian
 * words counted from the stream's start (cpio newc pads file data to 4 bytes,
 * so the code inside each file stays aligned); a 1-3 byte tail is left as is.
 */
export function encodeArm64(buf) {
  const words = Math.floor(buf.length / 4);
  const view = new DataView(buf.buffer, buf.byteOffset, words * 4);
  for (let i = 0; i < words; i++) {
    const pos = i * 4;
    let insn = view.getUint32(pos, true);
    if (insn >>> 26 === 0x25) {
      // BL imm26: the word offset becomes the absolute word address.
      insn = (0x94000000 | ((insn + (pos >>> 2)) & 0x03ffffff)) >>> 0;
    } else if (((insn & 0x9f000000) >>> 0) === 0x90000000) {
      // ADRP: immhi:immlo is a page offset. Only the +-512 MiB range is
      // converted (xz: larger ones are rare and would cost more than they win).
      const src = ((insn >>> 29) & 3) | ((insn >>> 3) & 0x001ffffc);
      if (((src + 0x00020000) & 0x001c0000) !== 0) continue;
      const dest = (src + (pos >>> 12)) >>> 0;
      insn = (insn & 0x9000001f) >>> 0;
      insn |= (dest & 3) << 29;
      insn |= (dest & 0x0003fffc) << 3;
      insn |= (0 - (dest & 0x00020000)) & 0x00e00000;
      insn >>>= 0;
    } else {
      continue;
    }
    view.setUint32(pos, insn, true);
  }
  return buf;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // process.stdout, not writeSync(1): the pipe may be non-blocking (EAGAIN).
  process.stdout.write(encodeArm64(readFileSync(0)));
}
