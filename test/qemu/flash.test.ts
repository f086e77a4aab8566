// scripts/flash on a synthetic ESPRESSObin image and a temporary disk-image
// file (never a real device): bundles, sha256 and signature checks that run
// before anything is written, refusal of tampered or odd input, the
// MBR + ext4 layout U-Boot boots from, and a config partition kept across
// re-flashing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, readSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/paths.ts';

const FLASH = path.join(repoRoot, 'scripts', 'flash');
const MiB = 1048576;

interface Run { code: number | null; out: string }
function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
const flash = (...args: string[]): Run => run('bash', [FLASH, ...args], { ...process.env, SITELINK_FLASH_PUBKEY: '' });
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function readAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(length);
  readSync(fd, buf, 0, length, offset);
  closeSync(fd);
  return buf;
}

/** An image directory as build-image makes it, with small random artifacts. */
function makeImage(dir: string, board: string): void {
  mkdirSync(dir, { recursive: true });
  const artifacts: Record<string, { sha256: string; bytes: number }> = {};
  for (const [name, size] of [['vmlinuz', 70_000], ['initramfs.cpio.gz', 90_000], ['board.dtb', 3_000]] as const) {
    const data = randomBytes(size);
    writeFileSync(path.join(dir, name), data);
    artifacts[name] = { sha256: sha256(data), bytes: size };
  }
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ format: 1, board, built: new Date().toISOString(), artifacts }, null, 2));
}

function newDisk(file: string, bytes: number): void {
  const fd = openSync(file, 'w');
  ftruncateSync(fd, bytes); // sparse
  closeSync(fd);
}

/** Copies bytes [offset, offset+length) of `file` into a new file. */
function extract(file: string, offset: number, length: number, to: string): void {
  const r = run('dd', [`if=${file}`, `of=${to}`, 'bs=1M', `skip=${offset / MiB}`, `count=${length / MiB}`, 'status=none']);
  if (r.code !== 0) throw new Error(r.out);
}

const missing = ['/usr/sbin/mkfs.ext4', '/usr/sbin/debugfs', '/usr/bin/openssl'].find((p) => !existsSync(p));
const skip = missing ? `SKIPPED: ${missing} is missing (bash scripts/setup installs it)` : false;

t.test('scripts/flash', { skip }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-flash-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'out');
  const img = path.join(out, 'espressobin');
  makeImage(img, 'espressobin');

  t.equal(flash('verify', img).code, 0, 'a consistent image directory verifies');
  const bundle = path.join(dir, 'espressobin.tar');
  const b = flash('bundle', '--board', 'espressobin', '--out', out, '-o', bundle);
  t.equal(b.code, 0, `bundle made ${b.out}`);
  const members = run('tar', ['-tf', bundle]).out.split('\n').filter(Boolean).sort();
  t.same(members, ['board.dtb', 'initramfs.cpio.gz', 'manifest.json', 'vmlinuz'], 'bundle holds the manifest and artifacts, plain names');
  t.equal(flash('verify', bundle).code, 0, 'the bundle verifies');

  await t.test('tampered or odd input is refused before writing', async (t) => {
    const disk = path.join(dir, 'untouched.img');
    newDisk(disk, 300 * MiB);
    writeFileSync(disk, Buffer.from('sentinel'), { flag: 'r+' });

    const bad = path.join(out, 'tampered');
    makeImage(bad, 'espressobin');
    const k = readFileSync(path.join(bad, 'initramfs.cpio.gz'));
    k[1000] = (k[1000] ?? 0) ^ 1;
    writeFileSync(path.join(bad, 'initramfs.cpio.gz'), k);
    let r = flash('write', bad, '--device', disk);
    t.not(r.code, 0, 'write refuses a flipped bit');
    t.match(r.out, /initramfs\.cpio\.gz: sha256 differs/, 'and says which artifact');
    t.equal(readAt(disk, 0, 8).toString(), 'sentinel', 'the target was not touched');

    const extra = path.join(out, 'extra');
    makeImage(extra, 'espressobin');
    writeFileSync(path.join(extra, 'payload.sh'), '#!/bin/sh\n');
    r = flash('verify', extra);
    t.not(r.code, 0, 'a file not in the manifest is refused');
    t.match(r.out, /unexpected file payload\.sh/);

    const short = path.join(out, 'short');
    makeImage(short, 'espressobin');
    rmSync(path.join(short, 'board.dtb'));
    t.not(flash('verify', short).code, 0, 'a missing artifact is refused');

    const evil = path.join(dir, 'evil.tar');
    run('tar', ['-cf', evil, '-C', img, '--transform', 's,^,../,', 'manifest.json']);
    r = flash('write', evil, '--device', disk);
    t.not(r.code, 0, 'a bundle member with a path is refused');
    t.match(r.out, /bad name/);

    const linked = path.join(dir, 'link.tar');
    run('ln', ['-sf', '/etc/passwd', path.join(dir, 'vmlinuz')]);
    run('tar', ['-cf', linked, '-C', dir, 'vmlinuz']);
    t.match(flash('verify', linked).out, /not a regular file/, 'a symlink member is refused');

    r = flash('write', bundle, '--device', path.join(dir, 'does-not-exist.img'));
    t.not(r.code, 0, 'a missing target is refused (no file is created)');
    t.notOk(existsSync(path.join(dir, 'does-not-exist.img')));

    const small = path.join(dir, 'small.img');
    newDisk(small, 64 * MiB);
    t.match(flash('write', bundle, '--device', small).out, /too small/, 'a too-small target is refused');

    const q = path.join(out, 'qemu-virt-arm64');
    makeImage(q, 'qemu-virt-arm64');
    t.match(flash('write', q, '--device', disk).out, /nothing to write/, 'the QEMU board has no boot medium to write');
    t.equal(readAt(disk, 0, 8).toString(), 'sentinel', 'the target is still untouched');
  });

  await t.test('signatures', async (t) => {
    const key = path.join(dir, 'sign.pem');
    const pub = path.join(dir, 'sign.pub.pem');
    const other = path.join(dir, 'other.pub.pem');
    t.equal(run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]).code, 0);
    run('openssl', ['pkey', '-in', key, '-pubout', '-out', pub]);
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path.join(dir, 'o.pem')]);
    run('openssl', ['pkey', '-in', path.join(dir, 'o.pem'), '-pubout', '-out', other]);

    const signed = path.join(dir, 'signed.tar');
    t.equal(flash('bundle', '--board', 'espressobin', '--out', out, '--sign', key, '-o', signed).code, 0, 'signed bundle made');
    t.ok(run('tar', ['-tf', signed]).out.includes('manifest.json.sig'), 'it carries manifest.json.sig');
    t.equal(flash('verify', signed, '--pubkey', pub).code, 0, 'verifies with the right key');
    t.match(flash('verify', signed, '--pubkey', other).out, /does not verify/, 'refused with another key');
    t.match(flash('verify', bundle, '--pubkey', pub).out, /unsigned/, 'an unsigned bundle is refused when a key is configured');
    const env = { ...process.env, SITELINK_FLASH_PUBKEY: pub };
    t.not(run('bash', [FLASH, 'verify', bundle], env).code, 0, 'SITELINK_FLASH_PUBKEY configures the key too');

    // Ed25519, the kind boards accept for upgrades (sitelinkctl upgrade): over manifest.json itself.
    const ed = path.join(dir, 'ed.pem');
    const edPub = path.join(dir, 'ed.pub.pem');
    run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', ed]);
    run('openssl', ['pkey', '-in', ed, '-pubout', '-out', edPub]);
    const edSigned = path.join(dir, 'ed-signed.tar');
    t.equal(flash('bundle', '--board', 'espressobin', '--out', out, '--sign', ed, '-o', edSigned).code, 0, 'Ed25519-signed bundle made');
    t.equal(flash('verify', edSigned, '--pubkey', edPub).code, 0, 'verifies with the Ed25519 key');
    t.match(flash('verify', edSigned, '--pubkey', pub).out, /does not verify/, 'not with the EC key');
    t.match(flash('verify', signed, '--pubkey', edPub).out, /does not verify/, 'an EC signature fails the Ed25519 key');

    // A re-made manifest (artifacts swapped, hashes updated) keeps the old signature.
    const x = path.join(dir, 'x'); mkdirSync(x);
    run('tar', ['-xf', signed, '-C', x]);
    const m = JSON.parse(readFileSync(path.join(x, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { sha256: string; bytes: number }> };
    const evil = randomBytes(70_000);
    writeFileSync(path.join(x, 'vmlinuz'), evil);
    m.artifacts['vmlinuz'] = { sha256: sha256(evil), bytes: evil.length };
    writeFileSync(path.join(x, 'manifest.json'), JSON.stringify(m));
    t.match(flash('verify', x, '--pubkey', pub).out, /does not verify/, 'a consistent but re-made manifest fails the signature');
  });

  await t.test('write: MBR, boot partition, config partition kept', async (t) => {
    const disk = path.join(dir, 'sd.img');
    newDisk(disk, 300 * MiB);
    const r = flash('write', bundle, '--device', disk);
    t.equal(r.code, 0, `written ${r.out}`);
    const mbr = readAt(disk, 0, 512);
    t.equal(mbr.readUInt16BE(510), 0x55aa, 'MBR signature');
    t.equal(mbr[446], 0x80, 'partition 1 bootable');
    t.equal(mbr[446 + 4], 0x83, 'partition 1 type Linux');
    t.equal(mbr.readUInt32LE(446 + 8), 2048, 'partition 1 at 1 MiB');
    t.equal(mbr.readUInt32LE(446 + 12), 192 * 2048, 'partition 1 is 192 MiB');
    t.equal(mbr.readUInt32LE(462 + 8), 193 * 2048, 'partition 2 follows');

    const p1 = path.join(dir, 'p1.img');
    extract(disk, MiB, 192 * MiB, p1);
    const conf = run('debugfs', ['-R', 'cat /extlinux/extlinux.conf', p1]).out;
    t.match(conf, /LINUX \/Image/, 'extlinux.conf boots /Image');
    t.match(conf, /FDT \/board\.dtb/, 'with the device tree');
    t.match(conf, /console=ttyMV0,115200/, "on the board's console");
    run('debugfs', ['-R', `dump /Image ${path.join(dir, 'Image.out')}`, p1]);
    t.equal(
      sha256(readFileSync(path.join(dir, 'Image.out'))),
      sha256(readFileSync(path.join(img, 'vmlinuz'))),
      'the kernel on partition 1 is the verified one',
    );

    // Put a file in the config partition, flash again, and find it there.
    const p2 = path.join(dir, 'p2.img');
    extract(disk, 193 * MiB, 64 * MiB, p2);
    writeFileSync(path.join(dir, 'keep'), 'keep-me\n');
    t.equal(run('debugfs', ['-w', '-R', `write ${path.join(dir, 'keep')} /sitelink.conf`, p2]).code, 0);
    run('dd', [`if=${p2}`, `of=${disk}`, 'bs=1M', 'seek=193', 'conv=notrunc', 'status=none']);
    const again = flash('write', bundle, '--device', disk);
    t.equal(again.code, 0, 'written again');
    t.match(again.out, /existing ext4 kept/);
    extract(disk, 193 * MiB, 64 * MiB, p2);
    t.match(run('debugfs', ['-R', 'cat /sitelink.conf', p2]).out, /keep-me/, 'the config store survived re-flashing');
  });
});
