// Writes a DOS (MBR) partition table into the first sector of a disk or disk
// image, leaving the rest of the sector's boot code area zero. Partitions are
// given in 512-byte sectors. Used by scripts/flash (util-linux's sfdisk is not
// part of the build host's tools).
//
// Sector 0 layout: bytes 0..439 boot code (zero), 440..443 disk signature,
// 444..445 zero, 446..509 four 16-byte partition entries, 510..511 0x55 0xAA.
// Entry: status (0x80 = bootable), CHS first (3), type, CHS last (3),
// LBA start (u32 LE), sector count (u32 LE). CHS is "LBA only" (FE FF FF).
//
// Usage: node write-mbr.mjs TARGET SIGNATURE_HEX START:COUNT:TYPE[:boot]...
import { openSync, writeSync, closeSync } from 'node:fs';

const [target, sigHex, ...parts] = process.argv.slice(2);
if (!target || !sigHex || parts.length === 0 || parts.length > 4) {
  console.error('usage: write-mbr.mjs TARGET SIGNATURE_HEX START:COUNT:TYPE[:boot]... (1..4 partitions)');
  process.exit(2);
}
const sector = Buffer.alloc(512);
sector.writeUInt32LE(Number.parseInt(sigHex, 16) >>> 0, 440);
parts.forEach((spec, i) => {
  const [start, count, type, boot] = spec.split(':');
  const s = Number(start), c = Number(count), ty = Number.parseInt(type ?? '', 16);
  if (!Number.isInteger(s) || !Number.isInteger(c) || s < 1 || c < 1 || s + c > 0xffffffff || !(ty > 0 && ty < 256)) {
    console.error(`write-mbr: bad partition ${spec}`);
    process.exit(2);
  }
  const e = 446 + 16 * i;
  sector[e] = boot === 'boot' ? 0x80 : 0x00;
  sector.set([0xfe, 0xff, 0xff], e + 1);
  sector[e + 4] = ty;
  sector.set([0xfe, 0xff, 0xff], e + 5);
  sector.writeUInt32LE(s, e + 8);
  sector.writeUInt32LE(c, e + 12);
});
sector[510] = 0x55;
sector[511] = 0xaa;
const fd = openSync(target, 'r+');
writeSync(fd, sector, 0, 512, 0);
closeSync(fd);
