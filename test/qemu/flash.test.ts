// scripts/flash on a synthetic ESPRESSObin image and a temporary disk-image
// file (never a real device; there is no ESPRESSObin here, so its U-Boot never
// runs this layout: QEMU's does, test/qemu/upgrade.test.ts): bundles, sha256
// and signature checks that run before anything is written, refusal of
// tampered or odd input, the A/B system disk (MBR, boot script with the
// board's values, slots, boot-state record), and a config partition kept
// across re-flashing.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, readSync, closeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/paths.ts';
import { parseBootState } from '../../firmware/src/upgrade/bootstate.ts';

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

const missing = ['/usr/sbin/mkfs.ext4', '/usr/sbin/debugfs', '/usr/bin/openssl', '/usr/bin/mkimage'].find((p) => !existsSync(p));
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

  await t.test('write: the A/B system disk (MBR, boot script, slots, boot-state record), config partition kept', async (t) => {
    // board/espressobin/profile.sh: BOARD_SLOT_LAYOUT "1:15 16:96 112:96 208:64".
    const parts = [[1, 15], [16, 96], [112, 96], [208, 64]] as const;
    const disk = path.join(dir, 'sd.img');
    newDisk(disk, 300 * MiB);
    const r = flash('write', bundle, '--device', disk);
    t.equal(r.code, 0, `written ${r.out}`);
    const mbr = readAt(disk, 0, 512);
    t.equal(mbr.readUInt16BE(510), 0x55aa, 'MBR signature');
    t.equal(mbr[446], 0x80, 'partition 1 bootable');
    parts.forEach(([start, mib], i) => {
      const e = 446 + 16 * i;
      t.equal(mbr[e + 4], 0x83, `partition ${i + 1} type Linux`);
      t.same([mbr.readUInt32LE(e + 8), mbr.readUInt32LE(e + 12)], [start * 2048, mib * 2048], `partition ${i + 1}: ${mib} MiB at ${start} MiB`);
    });
    const part = (n: number): string => {
      const [start, mib] = parts[n - 1] ?? [0, 0];
      const f = path.join(dir, `p${n}.img`);
      extract(disk, start * MiB, mib * MiB, f);
      return f;
    };
    const label = (f: string): string => /Filesystem volume name:\s+(\S+)/.exec(run('debugfs', ['-R', 'stats', f]).out)?.[1] ?? '';

    const p1 = part(1);
    t.equal(label(p1), 'sitelink-boot', 'p1: the boot partition');
    const script = run('debugfs', ['-R', 'cat /boot.scr', p1]).out;
    t.match(script, /sitelink-boot: slot \$\{sl_slot\}/, 'p1 holds boot.scr, the A/B boot script');
    t.match(script, /console=ttyMV0,115200 .*sitelink\.slot=\$\{sl_slot\}\$\{sl_trial\}/, "with the board's console and the slot on the command line");
    t.match(script, /load \$\{devtype\} \$\{devnum\}:\$\{sl_part\} 0x7000000 \/vmlinuz/, "and the Armada 3720's load addresses");
    t.notMatch(script, /@[A-Z_]+@/, 'no placeholder left');

    const p2 = part(2);
    t.equal(label(p2), 'sitelink-a', 'p2: slot a');
    const onSlotA: Array<[string, string]> = [['vmlinuz', 'vmlinuz'], ['initramfs', 'initramfs.cpio.gz'], ['board.dtb', 'board.dtb'],
      ['manifest.json', 'manifest.json']];
    for (const [onSlot, artifact] of onSlotA) {
      const outFile = path.join(dir, `slot-${onSlot}`);
      run('debugfs', ['-R', `dump /${onSlot} ${outFile}`, p2]);
      t.equal(existsSync(outFile) ? sha256(readFileSync(outFile)) : 'missing', sha256(readFileSync(path.join(img, artifact))),
        `slot a: /${onSlot} is the verified ${artifact}`);
    }
    const p3 = part(3);
    t.equal(label(p3), 'sitelink-b', 'p3: slot b');
    // ls -p: "/inode/mode/uid/gid/name/size/" per entry.
    const names = run('debugfs', ['-R', 'ls -p', p3]).out.split('\n').map((l) => l.split('/')[5] ?? '').filter((n) => n !== '');
    t.ok(names.includes('lost+found'), `slot b is listed (${names.join(' ')})`);
    t.same(names.filter((n) => !['.', '..', 'lost+found'].includes(n)), [], 'slot b is empty');
    t.same(parseBootState(readAt(disk, 2040 * 512, 512)), { boot: 'a', trial: null, triesLeft: 0, failed: null, waitSeconds: 180 },
      'the boot-state record (sector 2040) boots slot a, no trial');

    // Put a file in the config partition, flash again, and find it there.
    const p4 = part(4);
    t.equal(label(p4), 'sitelink-config', 'p4: the config store');
    writeFileSync(path.join(dir, 'keep'), 'keep-me\n');
    t.equal(run('debugfs', ['-w', '-R', `write ${path.join(dir, 'keep')} /sitelink.conf`, p4]).code, 0);
    run('dd', [`if=${p4}`, `of=${disk}`, 'bs=1M', 'seek=208', 'conv=notrunc', 'status=none']);
    const again = flash('write', bundle, '--device', disk);
    t.equal(again.code, 0, 'written again');
    t.match(again.out, /existing ext4 kept/);
    t.match(run('debugfs', ['-R', 'cat /sitelink.conf', part(4)]).out, /keep-me/, 'the config store survived re-flashing');
  });
});
