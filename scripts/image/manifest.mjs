// Writes out/<board>/manifest.json: what went into the image (Debian package
// versions, kernel), each artifact's sha256 and size, and the build date
// (SOURCE_DATE_EPOCH, so the same sources give the same manifest).
// scripts/flash verifies artifacts against it before writing anything.
// Usage: node manifest.mjs OUTDIR BOARD KVER PACKAGES_TSV SIZES_TSV
//   PACKAGES_TSV: "name\tversion\tarch" per line
//   SIZES_TSV:    "component\tunpacked\tpacked" per line (scripts/image/measure-sizes)
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync, statSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const [outDir, board, kver, pkgFile, sizeFile] = process.argv.slice(2);
if (!outDir || !board || !kver || !pkgFile || !sizeFile) {
  console.error('usage: manifest.mjs OUTDIR BOARD KVER PACKAGES_TSV SIZES_TSV');
  process.exit(2);
}

const rows = (file) =>
  readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));

const artifact = (name) => {
  const data = readFileSync(join(outDir, name));
  return { sha256: createHash('sha256').update(data).digest('hex'), bytes: statSync(join(outDir, name)).size };
};

// SITELINK_COMMIT: set by the Dockerfile, whose build context has no .git.
let commit = process.env['SITELINK_COMMIT'] ?? 'unknown';
if (!process.env['SITELINK_COMMIT']) try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {
  // Building from a tarball (no .git) is fine.
}

const manifest = {
  format: 1,
  board,
  built: new Date(Number(process.env['SOURCE_DATE_EPOCH'] ?? 0) * 1000).toISOString(),
  commit,
  kernel: kver,
  // sha256 of the DER public key sitelinkctl upgrade trusts (/etc/sitelink/upgrade.pub.pem).
  ...(process.env['SITELINK_UPGRADE_PUBKEY_FILE'] ? {
    upgradeKey: createHash('sha256')
      .update(createPublicKey(readFileSync(process.env['SITELINK_UPGRADE_PUBKEY_FILE'])).export({ type: 'spki', format: 'der' }))
      .digest('hex'),
  } : {}),
  artifacts: Object.fromEntries(
    ['vmlinuz', ...readdirSync(outDir).filter((n) => /^initramfs\.cpio\.(gz|xz|zst|lz4)$/.test(n)).sort(), 'board.dtb']
      .filter((n) => existsSync(join(outDir, n)))
      .map((n) => [n, artifact(n)]),
  ),
  // How each part is compressed (board profile: BOARD_KERNEL_COMPRESS,
  // BOARD_INITRAMFS_COMPRESS, "DEFAULT COMPONENT=COMPRESSOR..."; the boot times
  // behind the choice: docs/boot-time.md).
  ...(process.env['BOARD_KERNEL_COMPRESS'] && process.env['BOARD_INITRAMFS_COMPRESS'] ? {
    compression: { kernel: process.env['BOARD_KERNEL_COMPRESS'], initramfs: process.env['BOARD_INITRAMFS_COMPRESS'] },
  } : {}),
  // Kernel arguments of every boot (board profile: BOARD_KERNEL_ARGS); scripts/qemu-run
  // passes them on direct boots, the U-Boot boot script has them from the profile.
  kernelArgs: process.env['BOARD_KERNEL_ARGS'] ?? '',
  packages: Object.fromEntries(rows(pkgFile).map(([n, v, a]) => [n, { version: v, arch: a }])),
  // Bytes per component: unpacked, and packed as shipped (the artifacts) or
  // compressed alone with the image's compressor (the root filesystem's parts).
  sizes: Object.fromEntries(rows(sizeFile).map(([k, u, p]) => [k, { unpacked: Number(u), packed: Number(p) }])),
};
writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
