// The Dockerfile and scripts/build-image are one build: scripts/docker-build
// runs `docker build` (the Dockerfile runs scripts/build-image inside a Debian
// container, base image made locally with mmdebstrap) and its manifest must
// equal the host build's: the same files with the same sha256 sums, package
// versions and size table. Reproducibility (SOURCE_DATE_EPOCH, sorted cpio
// with renumbered inodes, build paths mapped out of the binaries) is what
// makes that possible.
//
// Cost: warm (docker layers and /var/cache/sitelink downloads present, image
// sources unchanged since the last docker build) well under a minute; after a
// source change the container re-runs build-image (a few minutes); cold (no
// base image, no layers) also mmdebstrap, the toolchain and npm ci.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/paths.ts';
import { BOARD, IMAGE_DIR, ensureImage } from '../lib/qemu-board.ts';

interface Manifest {
  board: string;
  commit: string;
  built: string;
  artifacts: Record<string, { sha256: string; bytes: number }>;
  packages: Record<string, { version: string; arch: string }>;
  sizes: Record<string, { unpacked: number; packed: number }>;
}

function skipReason(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'SKIPPED: needs root (dockerd, mmdebstrap, image build)';
  for (const tool of ['/usr/bin/docker', '/usr/sbin/dockerd', '/usr/bin/mmdebstrap', '/usr/bin/aarch64-linux-gnu-gcc']) {
    // The docker client may also come from /usr/local/bin.
    if (tool === '/usr/bin/docker' && spawnSync('sh', ['-c', 'command -v docker']).status === 0) continue;
    if (!existsSync(tool)) return `SKIPPED: ${tool} is missing (bash scripts/setup installs it)`;
  }
  return null;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;

const skip = skipReason();
// A cold build (base image, toolchain layer, npm ci) takes far longer than tap's default.
t.setTimeout(2_400_000);

t.test('docker build gives the same image as scripts/build-image', { skip: skip ?? false }, async (t) => {
  const err = ensureImage();
  if (err) { t.fail(err); return; }
  const host = readManifest(IMAGE_DIR);

  const out = mkdtempSync(path.join(tmpdir(), 'sl-docker-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const t0 = Date.now();
  // The host image may predate the last commit (it is rebuilt when its
  // sources change, not when HEAD moves): build the same identity.
  const env = { ...process.env, SITELINK_COMMIT: host.commit, SOURCE_DATE_EPOCH: String(Date.parse(host.built) / 1000) };
  const b = spawnSync('bash', [path.join(repoRoot, 'scripts', 'docker-build'), '--board', BOARD, '--out', out],
    { encoding: 'utf8', timeout: 2_300_000, maxBuffer: 64 << 20, env });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  if (b.status !== 0) {
    t.fail(`scripts/docker-build failed (${b.status ?? b.signal}) after ${secs} s:\n${(b.stdout + b.stderr).split('\n').slice(-40).join('\n')}`);
    return;
  }
  t.comment(`docker build: ${secs} s`);
  const dir = path.join(out, BOARD);
  const docker = readManifest(dir);

  t.same(Object.keys(docker.artifacts).sort(), Object.keys(host.artifacts).sort(), `same artifacts: ${Object.keys(host.artifacts).sort().join(' ')}`);
  for (const [name, a] of Object.entries(host.artifacts)) {
    t.equal(docker.artifacts[name]?.sha256, a.sha256, `${name}: same sha256 from both builds`);
  }
  // The files docker cp brought out are the ones its manifest describes.
  t.same(
    readdirSync(dir).sort(),
    ['manifest.json', ...Object.keys(docker.artifacts)].sort(),
    'docker-build copied the manifest and its artifacts, nothing else',
  );
  for (const [name, a] of Object.entries(docker.artifacts)) t.equal(sha256(path.join(dir, name)), a.sha256, `${name} matches the docker manifest`);
  t.same(docker.packages, host.packages, 'same Debian package versions');
  t.same(docker.sizes, host.sizes, 'same size table');
  t.same(docker, host, 'the whole manifest is equal (board, kernel, commit and date given to both)');
});
