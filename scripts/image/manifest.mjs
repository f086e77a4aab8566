// Writes out/<board>/manifest.json: what went into the image (Debian package
// versions, kernel), each artifact's sha256 and size, and the build date.
// scripts/flash verifies artifacts against it before writing anything.
// Usage: node manifest.mjs OUTDIR BOARD KVER PACKAGES_TSV SIZES_TSV
//   PACKAGES_TSV: "name\tversion\tarch" per line
//   SIZES_TSV:    "label\tbytes" per line (informational cost breakdown)
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, statSync, existsSync } from 'node:fs';
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
  built: new Date().toISOString(),
  commit,
  kernel: kver,
  artifacts: Object.fromEntries(
    ['vmlinuz', 'initramfs.cpio.gz', 'board.dtb']
      .filter((n) => existsSync(join(outDir, n)))
      .map((n) => [n, artifact(n)]),
  ),
  packages: Object.fromEntries(rows(pkgFile).map(([n, v, a]) => [n, { version: v, arch: a }])),
  sizes: Object.fromEntries(rows(sizeFile).map(([k, v]) => [k, Number(v)])),
};
writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
