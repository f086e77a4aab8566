/**
 * Verifies an upgrade bundle before anything is written: manifest.json must carry an
 * Ed25519 signature (manifest.json.sig, 64 bytes, RFC 8032) by the key baked into the
 * image, name this board, and list every other member with its sha256 and size; no
 * member may be missing or extra. Returns the files as the slot stores them.
 */
import { createHash, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { BundleError, MEMBER_NAME, type TarEntry } from './tar.ts';

export interface ManifestArtifact {
  sha256: string;
  bytes: number;
}

export interface Manifest {
  board: string;
  commit?: string;
  built?: string;
  kernel?: string;
  artifacts: Record<string, ManifestArtifact>;
}

export interface VerifiedBundle {
  manifest: Manifest;
  /** Slot file name -> contents: vmlinuz, initramfs, [board.dtb], manifest.json, manifest.json.sig. */
  files: Map<string, Buffer>;
}

const INITRAMFS = /^initramfs\.cpio\.(xz|zst|gz|lz4)$/;
const SIG = 'manifest.json.sig';

/** Artifact name in the bundle -> file name in the slot (what the boot script loads). */
export function slotFileName(artifact: string): string {
  return INITRAMFS.test(artifact) ? 'initramfs' : artifact;
}

function parseManifest(text: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new BundleError('bundle: manifest.json is not JSON');
  }
  const o = m as Partial<Manifest> | null;
  if (typeof o !== 'object' || o === null || typeof o.board !== 'string' || typeof o.artifacts !== 'object' || o.artifacts === null) {
    throw new BundleError('bundle: manifest.json lacks board or artifacts');
  }
  for (const [name, a] of Object.entries(o.artifacts)) {
    if (!MEMBER_NAME.test(name) || name.startsWith('manifest.json')) {
      throw new BundleError(`bundle: manifest names a bad artifact ${JSON.stringify(name)}`);
    }
    if (typeof a?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(a.sha256) || !Number.isSafeInteger(a.bytes) || a.bytes < 0) {
      throw new BundleError(`bundle: manifest entry for ${name} is malformed`);
    }
  }
  return o as Manifest;
}

export function verifyBundle(entries: readonly TarEntry[], publicKeyPem: string, board: string): VerifiedBundle {
  const key = createPublicKey(publicKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new BundleError(`the image's upgrade key is ${key.asymmetricKeyType}, not Ed25519`);
  const byName = new Map(entries.map((e) => [e.name, e.data]));
  const manifestBytes = byName.get('manifest.json');
  if (!manifestBytes) throw new BundleError('bundle: no manifest.json');
  const sig = byName.get(SIG);
  if (!sig) throw new BundleError('bundle: unsigned (no manifest.json.sig)');
  if (sig.length !== 64 || !verify(null, manifestBytes, key, sig)) {
    throw new BundleError("bundle: manifest.json signature does not verify with the image's upgrade key");
  }
  const manifest = parseManifest(manifestBytes.toString('utf8'));
  if (manifest.board !== board) throw new BundleError(`bundle: made for board ${manifest.board}, this is ${board}`);
  const names = Object.keys(manifest.artifacts);
  if (!names.includes('vmlinuz')) throw new BundleError('bundle: manifest lists no vmlinuz');
  if (names.filter((n) => INITRAMFS.test(n)).length !== 1) throw new BundleError('bundle: manifest must list exactly one initramfs.cpio.*');
  const files = new Map<string, Buffer>();
  for (const [name, a] of Object.entries(manifest.artifacts)) {
    const data = byName.get(name);
    if (!data) throw new BundleError(`bundle: artifact ${name} is missing`);
    if (data.length !== a.bytes) throw new BundleError(`bundle: artifact ${name}: size differs from the manifest`);
    const got = createHash('sha256').update(data).digest();
    if (!timingSafeEqual(got, Buffer.from(a.sha256, 'hex'))) throw new BundleError(`bundle: artifact ${name}: sha256 differs from the manifest`);
    files.set(slotFileName(name), data);
  }
  for (const e of entries) {
    if (e.name !== 'manifest.json' && e.name !== SIG && !(e.name in manifest.artifacts)) {
      throw new BundleError(`bundle: unexpected member ${e.name} (not in the manifest)`);
    }
  }
  files.set('manifest.json', manifestBytes);
  files.set(SIG, sig);
  return { manifest, files };
}

/** sha256 of the public key's DER (SubjectPublicKeyInfo), as manifest.json's upgradeKey shows it. */
export function keyFingerprint(publicKeyPem: string): string {
  return createHash('sha256').update(createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' })).digest('hex');
}
