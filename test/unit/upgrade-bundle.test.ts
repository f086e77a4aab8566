// The upgrade's pure parts: the bundle's tar reader, its verification (Ed25519
// signature over manifest.json, sha256 + size of every artifact, nothing extra),
// the boot-state record the U-Boot script shares with the running system, and
// the trial watchdog's device protocol (a plain file stands in for /dev/watchdog).
import t from 'tap';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readTar, writeTar, type TarEntry } from '../../firmware/src/upgrade/tar.ts';
import { keyFingerprint, verifyBundle } from '../../firmware/src/upgrade/verify.ts';
import { TrialWatchdog, isTrialBoot } from '../../firmware/src/upgrade/watchdog.ts';
import { MAGIC, nextBoot, parseBootState, serializeBootState, type BootState } from '../../firmware/src/upgrade/bootstate.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const PUB = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const other = generateKeyPairSync('ed25519');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function bundle(opts: { board?: string; tamper?: (files: Map<string, Buffer>) => void; signer?: typeof privateKey } = {}): TarEntry[] {
  const files = new Map<string, Buffer>([
    ['vmlinuz', Buffer.from('kernel'.repeat(1000))],
    ['initramfs.cpio.xz', Buffer.from('rootfs'.repeat(3000))],
  ]);
  const manifest = Buffer.from(JSON.stringify({
    format: 1, board: opts.board ?? 'qemu-virt-arm64', commit: 'abc1234',
    artifacts: Object.fromEntries([...files].map(([n, d]) => [n, { sha256: sha(d), bytes: d.length }])),
  }));
  files.set('manifest.json', manifest);
  files.set('manifest.json.sig', sign(null, manifest, opts.signer ?? privateKey));
  opts.tamper?.(files);
  return [...files].map(([name, data]) => ({ name, data }));
}

t.test('tar: round trip, and GNU tar output reads the same', async (t) => {
  const entries = bundle();
  const back = readTar(writeTar(entries));
  t.same(back.map((e) => [e.name, sha(e.data)]), entries.map((e) => [e.name, sha(e.data)]));
  // A bundle as scripts/flash makes it (GNU tar, plain names).
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-tar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const e of entries) writeFileSync(path.join(dir, e.name), e.data);
  execFileSync('tar', ['-cf', path.join(dir, 'b.tar'), '-C', dir, '--owner=0', '--group=0', '--sort=name', '--mtime=@0',
    'initramfs.cpio.xz', 'manifest.json', 'manifest.json.sig', 'vmlinuz']);
  const gnu = readTar(readFileSync(path.join(dir, 'b.tar')));
  t.same(gnu.map((e) => e.name), ['initramfs.cpio.xz', 'manifest.json', 'manifest.json.sig', 'vmlinuz']);
  t.equal(sha(gnu[3]?.data ?? Buffer.alloc(0)), sha(entries[0]?.data ?? Buffer.alloc(1)), 'contents as written');
  // Links, directories and paths are refused.
  writeFileSync(path.join(dir, 'x'), 'x');
  execFileSync('ln', ['-s', '/etc/passwd', path.join(dir, 'link')]);
  execFileSync('tar', ['-cf', path.join(dir, 'l.tar'), '-C', dir, 'link']);
  t.throws(() => readTar(readFileSync(path.join(dir, 'l.tar'))), /not a regular file/);
  execFileSync('tar', ['-cf', path.join(dir, 'p.tar'), '-C', dir, '--transform', 's,^,../,', 'x']);
  t.throws(() => readTar(readFileSync(path.join(dir, 'p.tar'))), /bad name/);
});

t.test('tar: malformed archives are refused', async (t) => {
  const good = writeTar(bundle());
  const flipped = Buffer.from(good);
  flipped[10] = (flipped[10] ?? 0) ^ 1;
  t.throws(() => readTar(flipped), /checksum/, 'header bit flip');
  t.throws(() => readTar(good.subarray(0, 700)), /truncated/, 'cut in a member');
  t.throws(() => readTar(good.subarray(0, good.length - 1024)), /no end marker/, 'no end marker');
  const trailing = Buffer.concat([good, Buffer.from('junk')]);
  t.throws(() => readTar(trailing), /after the end/, 'data after the end');
  const e = bundle();
  t.throws(() => readTar(writeTar([...e, e[0] as TarEntry])), /twice/, 'duplicate member');
});

t.test('verifyBundle', async (t) => {
  const v = verifyBundle(bundle(), PUB, 'qemu-virt-arm64');
  t.same([...v.files.keys()].sort(), ['initramfs', 'manifest.json', 'manifest.json.sig', 'vmlinuz'], 'slot file names');
  t.equal(v.manifest.commit, 'abc1234');
  t.throws(() => verifyBundle(bundle({ signer: other.privateKey }), PUB, 'qemu-virt-arm64'), /signature does not verify/, 'another key');
  t.throws(() => verifyBundle(bundle({ tamper: (f) => f.delete('manifest.json.sig') }), PUB, 'qemu-virt-arm64'), /unsigned/);
  t.throws(() => verifyBundle(bundle({ tamper: (f) => {
    const m = f.get('manifest.json') as Buffer;
    f.set('manifest.json', Buffer.from(m.toString().replace('abc1234', 'abc1235')));
  } }), PUB, 'qemu-virt-arm64'), /signature does not verify/, 'a changed manifest');
  t.throws(() => verifyBundle(bundle({ tamper: (f) => {
    const k = Buffer.from(f.get('vmlinuz') as Buffer);
    k[5] = (k[5] ?? 0) ^ 1;
    f.set('vmlinuz', k);
  } }), PUB, 'qemu-virt-arm64'), /vmlinuz: sha256 differs/, 'a flipped bit in an artifact');
  t.throws(() => verifyBundle(bundle({ tamper: (f) => f.set('extra.sh', Buffer.from('x')) }), PUB, 'qemu-virt-arm64'), /unexpected member extra\.sh/);
  t.throws(() => verifyBundle(bundle({ tamper: (f) => f.delete('vmlinuz') }), PUB, 'qemu-virt-arm64'), /vmlinuz is missing/);
  t.throws(() => verifyBundle(bundle({ board: 'espressobin' }), PUB, 'qemu-virt-arm64'), /made for board espressobin/);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  t.throws(() => verifyBundle(bundle(), ec, 'qemu-virt-arm64'), /not Ed25519/, 'only Ed25519 image keys');
  t.match(keyFingerprint(PUB), /^[0-9a-f]{64}$/);
});

t.test('boot-state record', async (t) => {
  const s: BootState = { boot: 'a', trial: 'b', triesLeft: 1, failed: null, waitSeconds: 180 };
  const rec = serializeBootState(s);
  t.equal(rec.length, 512);
  t.same(parseBootState(rec), s, 'round trip');
  t.equal(nextBoot(s), 'b', 'a trial with a try left boots next');
  t.equal(nextBoot({ ...s, triesLeft: 0 }), 'a', 'a spent trial falls back');
  t.equal(nextBoot(null), 'a', 'no record: slot a');
  t.equal(parseBootState(Buffer.alloc(512)), null, 'a blank sector holds no record');
  // What U-Boot's `env export -t -s 0x200` writes (its own order, trailing newline, NUL padding).
  const uboot = Buffer.alloc(512);
  uboot.write(`sl_boot=b\nsl_failed=a\nsl_left=0\nsl_magic=${MAGIC}\nsl_try=none\nsl_wait=60\n`);
  t.same(parseBootState(uboot), { boot: 'b', trial: null, triesLeft: 0, failed: 'a', waitSeconds: 60 });
  const bad = Buffer.alloc(512);
  bad.write(`sl_magic=${MAGIC}\nsl_boot=c\nsl_try=none\nsl_left=0\nsl_wait=60\n`);
  t.throws(() => parseBootState(bad), /damaged/);
  t.throws(() => serializeBootState({ ...s, triesLeft: 10 }), /0..9/, 'tries stay one hex digit');
});

t.test('trial watchdog: pets, magic close on commit, left armed on rollback', async (t) => {
  t.ok(isTrialBoot('console=ttyAMA0 loglevel=4 panic=5 sitelink.slot=b sitelink.trial=1\n'), 'the boot script marks a trial');
  t.notOk(isTrialBoot('console=ttyAMA0 sitelink.slot=b'), 'a committed boot is not one');
  t.notOk(isTrialBoot('sitelink.trial=10 xsitelink.trial=1'), 'only the exact word');
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-wdt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(await TrialWatchdog.open(path.join(dir, 'missing', 'watchdog')), null, 'no device: null, no throw');
  const dev = path.join(dir, 'watchdog');
  writeFileSync(dev, '');
  const committed = await TrialWatchdog.open(dev);
  t.ok(committed, 'opened');
  committed?.pet();
  committed?.pet();
  committed?.disarm();
  committed?.pet();
  t.equal(readFileSync(dev, 'latin1'), '111V', "open pets, each pet writes, commit ends with the magic 'V' and nothing after");
  writeFileSync(dev, '');
  const failed = await TrialWatchdog.open(dev);
  failed?.pet();
  failed?.release();
  t.equal(readFileSync(dev, 'latin1'), '11', "rollback lets go without 'V': the watchdog stays armed through the reboot");
});
