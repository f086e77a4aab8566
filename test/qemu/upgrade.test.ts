// Remote upgrade with rollback on the emulated board (docs/upgrade.md), one VM
// for all cases: QEMU boots U-Boot (u-boot-qemu) as the board's firmware, which
// runs the A/B boot script from a system disk laid out like the board's boot
// medium; sitelinkd brings its start = start tunnel up to a sitelinkd at HQ
// (scripts/demo.d networks and configs, as in ike-tunnel.test.ts). Then:
//   1. a bundle signed by another key is refused by the board with nothing
//      written (slot b and the boot-state record byte-identical);
//   2. ansible/playbooks/upgrade.yml (scripts/flash remote under Ansible)
//      installs a new image (this build plus a version stamp, signed with the
//      lab key): the board reboots into slot b, the tunnel comes back, slot b
//      is committed, config and SSH host key kept;
//   3. scripts/flash remote installs an image whose daemon fails: the board
//      boots it once, the tunnel does not come up in the commit time, it
//      reboots by itself into slot b, and the tunnel is back;
//   4. scripts/flash remote installs an image whose userspace hangs during
//      boot (never reaching the commit wait, whose timeout is set far away):
//      the hardware watchdog rcS armed for the trial (QEMU's i6300esb) resets
//      the board, U-Boot takes slot b, and the tunnel is back.
// The bundles are made here from out/<board>/ in seconds: the new root
// filesystems are the image's initramfs plus an appended cpio segment (the
// kernel unpacks concatenated archives in order, later files win).
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/paths.ts';
import { run } from '../lib/proc.ts';
import { waitUntil } from '../lib/wait.ts';
import { IMAGE_DIR, QemuBoard, ensureImage, qemuSkipReason } from '../lib/qemu-board.ts';
import { ANSIBLE_PLAYBOOK, ansibleEnv, ansibleSkipReason, execEnv } from '../lib/ansible.ts';
import { Sitelinkd, sitelinkdPath } from '../netns/ike-sitelinkd.ts';
import { keyFingerprint } from '../../firmware/src/upgrade/verify.ts';

const NET = path.join(repoRoot, 'scripts', 'demo.d', 'net');
const CONF = path.join(repoRoot, 'scripts', 'demo.d', 'conf');
const FLASH = path.join(repoRoot, 'scripts', 'flash');
const UBOOT = '/usr/lib/u-boot/qemu_arm64/u-boot.bin';
const MiB = 1048576;
// board/common/profile.sh: BOARD_SLOT_LAYOUT, BOARD_RT_BOOTSTATE_SECTOR.
const SLOT_B = { offset: 112 * MiB, bytes: 96 * MiB };
const STATE_SECTOR = 2040;
// Six boots under TCG: minutes on an idle machine, far more on a loaded one
// (one run at load 24 on 2 cores: 160 s per U-Boot boot).
t.setTimeout(2_700_000);

function skipReason(): string | null {
  const q = qemuSkipReason();
  if (q) return q;
  for (const tool of [UBOOT, '/usr/bin/mkimage', '/usr/bin/xz', '/usr/bin/cpio', '/usr/bin/openssl']) {
    if (!existsSync(tool)) return `SKIPPED: ${tool} is missing (bash scripts/setup installs it)`;
  }
  return null;
}

interface Manifest { commit: string; upgradeKey?: string; kernelArgs?: string; artifacts: Record<string, { sha256: string; bytes: number }> }
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function sh(cmd: string, args: readonly string[], opts: { cwd?: string; input?: string | Buffer } = {}): string {
  const r = spawnSync(cmd, args, { ...opts, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr ?? ''}${String(r.error ?? '')}`);
  return r.stdout;
}

/**
 * A signed bundle: the image's kernel, its initramfs with `extra` files appended as a
 * second (xz, CRC32 as the kernel's decoder wants) cpio segment, a manifest with commit
 * `commit`. Signed with `key` through scripts/flash bundle.
 */
function makeBundle(dir: string, name: string, commit: string, extra: Record<string, { text: string; mode: number }>, key: string): string {
  const base = JSON.parse(readFileSync(path.join(IMAGE_DIR, 'manifest.json'), 'utf8')) as Manifest;
  const out = path.join(dir, `${name}-out`);
  const img = path.join(out, 'qemu-virt-arm64');
  const tree = path.join(dir, `${name}-tree`);
  mkdirSync(img, { recursive: true });
  const initrd = Object.keys(base.artifacts).find((n) => n.startsWith('initramfs.cpio.')) ?? 'initramfs.cpio.xz';
  copyFileSync(path.join(IMAGE_DIR, 'vmlinuz'), path.join(img, 'vmlinuz'));
  for (const [file, { text, mode }] of Object.entries(extra)) {
    mkdirSync(path.dirname(path.join(tree, file)), { recursive: true });
    writeFileSync(path.join(tree, file), text);
    chmodSync(path.join(tree, file), mode);
  }
  const cpio = spawnSync('cpio', ['-o', '-H', 'newc', '-R', '0:0', '--quiet'], { cwd: tree, input: Object.keys(extra).join('\n') + '\n' });
  const seg = spawnSync('xz', ['--check=crc32', '-9', '-c'], { input: cpio.stdout });
  writeFileSync(path.join(img, initrd), Buffer.concat([readFileSync(path.join(IMAGE_DIR, initrd)), seg.stdout]));
  const artifacts: Manifest['artifacts'] = {};
  for (const a of ['vmlinuz', initrd]) {
    const data = readFileSync(path.join(img, a));
    artifacts[a] = { sha256: sha256(data), bytes: data.length };
  }
  writeFileSync(path.join(img, 'manifest.json'), JSON.stringify({ ...base, commit, artifacts }, null, 2));
  const tar = path.join(dir, `${name}.tar`);
  sh('bash', [FLASH, 'bundle', '--board', 'qemu-virt-arm64', '--out', out, '--sign', key, '-o', tar]);
  return tar;
}

function readRange(file: string, offset: number, bytes: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(bytes);
    readSync(fd, b, 0, bytes, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

interface Slots { booted: string; committed: string; trial: string | null; lastFailed: string | null;
  slots: Array<{ slot: string; commit: string | null }> }

t.test('remote upgrade with rollback (QEMU, U-Boot, A/B slots)', { skip: skipReason() ?? false }, async (t: Test) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`${sitelinkdPath} is not built (npm run build)`);
  const built = ensureImage();
  if (built) return t.fail(built);
  const t0 = Date.now();
  const labPub = sh('bash', [path.join(repoRoot, 'scripts', 'image', 'upgrade-key')]).trim();
  const labKey = sh('bash', [path.join(repoRoot, 'scripts', 'image', 'upgrade-key'), '--private']).trim();
  const base = JSON.parse(readFileSync(path.join(IMAGE_DIR, 'manifest.json'), 'utf8')) as Manifest;
  if (base.upgradeKey !== keyFingerprint(readFileSync(labPub, 'utf8'))) {
    return t.fail(`out/qemu-virt-arm64 trusts another upgrade key than ${labPub} (made after the image): rebuild with scripts/build-image`);
  }

  const prefix = `slqu${process.pid % 10000}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-qupg-'));
  t.teardown(() => {
    spawnSync('bash', [NET, 'down', prefix]);
    rmSync(dir, { recursive: true, force: true });
  });
  sh('bash', [NET, 'up', prefix]);
  sh('bash', [CONF, dir]);
  const sshKey = path.join(dir, 'id_ed25519');
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', sshKey]);

  // The bundles (seconds, on the host).
  const stamp = randomBytes(8).toString('hex');
  const good = makeBundle(dir, 'good', `${base.commit}+up-${stamp}`,
    { 'etc/sitelink/upgrade-test-stamp': { text: `${stamp}\n`, mode: 0o644 } }, labKey);
  const failing = makeBundle(dir, 'failing', `${base.commit}+broken`,
    { 'usr/sbin/sitelinkd': { text: '#!/bin/sh\necho "sitelinkd: broken on purpose (upgrade test)" >&2\nexit 1\n', mode: 0o755 } }, labKey);
  const rogue = path.join(dir, 'rogue.pem');
  writeFileSync(rogue, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const hanging = makeBundle(dir, 'hanging', `${base.commit}+hangs`,
    { 'etc/init.d/firewall': { text: '#!/bin/sh\necho "sitelink-init: firewall: hanging on purpose (upgrade test)"\nwhile :; do sleep 5; done\n',
      mode: 0o755 } },
    labKey);
  const badSig = makeBundle(dir, 'badsig', `${base.commit}+rogue`, { 'etc/sitelink/upgrade-test-stamp': { text: 'rogue\n', mode: 0o644 } }, rogue);
  t.comment(`bundles made in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const hq = await Sitelinkd.start(`${prefix}-hq`, {
    config: path.join(dir, 'hq.conf'), log: path.join(dir, 'hq.log'), socket: path.join(dir, 'hq-ctl', 'control.sock'),
  }, 30_000);
  t.teardown(() => hq.stop());
  const system = path.join(dir, 'system.img');
  const tBoot = Date.now();
  let board: QemuBoard;
  try {
    board = await QemuBoard.boot(`${prefix}-wan`, {
      config: path.join(dir, 'config.img'), key: sshKey, systemDisk: system,
      sitelinkConf: path.join(dir, 'branch.conf'), secrets: path.join(dir, 'branch.secrets'),
    }, 600_000);
  } catch (e) {
    return t.fail(String(e));
  }
  t.teardown(() => board.stop());
  t.comment(`U-Boot + slot a boot: ${((Date.now() - tBoot) / 1000).toFixed(1)} s to SITELINK-BOOT-DONE`);
  // The saved environment (scripts/image/qemu-uboot-env): no autoboot wait, and
  // distro boot still ran the A/B boot script.
  t.match(board.console(), /Loading Environment from Flash\.\.\. OK/, "U-Boot loaded the board's saved environment");
  t.match(board.console(), /stop autoboot:\s+0\b/, 'bootdelay=0: no autoboot wait');
  t.match(board.console(), /sitelink-boot: slot a \(virtio 0:2\)/, 'the A/B boot script ran');

  const ping = async (): Promise<boolean> =>
    (await run('ip', ['netns', 'exec', `${prefix}-lan`, 'ping', '-n', '-c', '1', '-W', '2', '10.1.0.1'])).code === 0;
  /** After each boot: the board's LAN address (not persistent), then a ping from HQ's LAN through the tunnel. */
  const tunnelBack = async (label: string): Promise<boolean> => {
    await waitUntil(async () => (await board.ssh('ip addr add 10.1.0.1/32 dev lo 2>/dev/null; ip addr show dev lo')).stdout.includes('10.1.0.1'),
      600_000, 2000);
    const up = await waitUntil(ping, 300_000, 1000);
    if (!up) {
      const logs = await board.ssh('tail -20 /var/log/sitelinkd.log; tail -20 /var/log/sitelink/negotiation.log');
      t.fail(`${label}: no ping through the tunnel\n${logs.stdout}\n${hq.logText().slice(-2000)}\n${board.console().slice(-3000)}`);
      return false;
    }
    t.pass(`${label}: HQ LAN -> board LAN through the tunnel`);
    return true;
  };
  const slots = async (): Promise<Slots | null> => {
    const r = await board.ssh('sitelinkctl slots --json');
    try {
      return (JSON.parse(r.stdout) as { system: Slots }).system;
    } catch {
      t.comment(`sitelinkctl slots: ${r.stdout}${r.stderr}`);
      return null;
    }
  };
  const hostKey = async (): Promise<string> => (await board.ssh('cat /config/dropbear/* | sha256sum')).stdout.trim();
  const flashRemote = (bundle: string, timeout: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    run('ip', ['netns', 'exec', `${prefix}-wan`, 'bash', FLASH, 'remote', 'root@127.0.0.1', bundle, '--port', '2222', '--identity', sshKey,
      '--ssh-option', 'StrictHostKeyChecking=no', '--ssh-option', 'UserKnownHostsFile=/dev/null', '--pubkey', labPub,
      '--commit-timeout', timeout, '--wait', '900'], { timeoutMs: 1_000_000 });

  if (!(await tunnelBack('slot a (first boot)'))) return;
  let s = await slots();
  t.equal(s?.booted, 'a', 'booted from slot a');
  t.equal(s?.committed, 'a', 'slot a committed');
  t.equal(s?.slots[1]?.commit ?? null, null, 'slot b empty');
  // The board profile's kernel arguments (BOARD_KERNEL_ARGS) reach the kernel through U-Boot's boot script.
  const cmdline = (await board.ssh('cat /proc/cmdline')).stdout.trim();
  t.ok(base.kernelArgs && cmdline.split(' ').includes(base.kernelArgs), `U-Boot passed the image's kernel arguments (${cmdline})`);
  const status = await board.ssh('sitelinkctl status');
  t.match(status.stdout, /system slots:[\s\S]*\ba .*\[booted, committed\][\s\S]*\bb .*empty/, `sitelinkctl status shows both slots\n${status.stdout}`);
  const keyBefore = await hostKey();
  const token = `persist-${stamp}`;
  t.equal((await board.ssh(`echo ${token} > /config/persist-check && sync`)).code, 0, 'wrote a file to /config');

  // 1. Wrong signature: refused on the board, nothing written.
  const before = { slotB: sha256(readRange(system, SLOT_B.offset, SLOT_B.bytes)), state: readRange(system, STATE_SECTOR * 512, 512) };
  const tBad = Date.now();
  const up = await run('ip', ['netns', 'exec', `${prefix}-wan`, 'bash', '-c',
    `ssh -p 2222 -i ${sshKey} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR ` +
    `root@127.0.0.1 'cat > /tmp/badsig.tar && sitelinkctl upgrade /tmp/badsig.tar' < ${badSig}`], { timeoutMs: 300_000 });
  t.not(up.code, 0, 'the board refuses a bundle signed with another key');
  t.match(up.stdout + up.stderr, /signature does not verify/, `and says why: ${(up.stdout + up.stderr).trim()}`);
  t.equal(sha256(readRange(system, SLOT_B.offset, SLOT_B.bytes)), before.slotB, 'slot b is byte-identical');
  t.same(readRange(system, STATE_SECTOR * 512, 512), before.state, 'the boot-state record is unchanged');
  const local = await run('bash', [FLASH, 'verify', badSig, '--pubkey', labPub]);
  t.match(local.stderr, /does not verify/, 'scripts/flash refuses it on the operator side too');
  t.comment(`bad signature case: ${((Date.now() - tBad) / 1000).toFixed(1)} s`);

  // 2. A new image: committed after the tunnel is back (as soon as it is: the
  // commit time only bounds how long a loaded machine may take to boot). The
  // fleet's way: ansible/playbooks/upgrade.yml (scripts/flash remote per router);
  // without ansible-core, scripts/flash remote alone.
  const tGood = Date.now();
  const noAnsible = ansibleSkipReason();
  if (noAnsible) {
    t.comment(`${noAnsible}: upgrade.yml not run, scripts/flash remote instead`);
    const r1 = await flashRemote(good, '900s');
    t.equal(r1.code, 0, `scripts/flash remote: committed\n${r1.stderr.slice(-1500)}`);
    if (r1.code !== 0) return t.comment(board.console().slice(-4000));
  } else {
    const inv = path.join(dir, 'hosts.yml');
    writeFileSync(inv, [
      'all:', '  vars:', '    ansible_user: root', `    ansible_ssh_private_key_file: ${sshKey}`,
      '  children:', '    branches:', '      hosts:', '        branch1:', '          ansible_host: 127.0.0.1', '          ansible_port: 2222', '',
    ].join('\n'), { mode: 0o600 });
    const r1 = await execEnv(['ip', 'netns', 'exec', `${prefix}-wan`, ANSIBLE_PLAYBOOK, '-i', inv,
      path.join(repoRoot, 'ansible', 'playbooks', 'upgrade.yml'), '-e', `sitelink_bundle=${good}`, '-e', `sitelink_pubkey=${labPub}`,
      '-e', 'sitelink_commit_timeout=900s'], ansibleEnv(path.join(dir, 'ansible')), 1_000_000);
    t.equal(r1.code, 0, `ansible/playbooks/upgrade.yml ran${r1.code === 0 ? '' : `\n${r1.out.slice(-3000)}`}`);
    t.match(r1.out, /committed: root@127\.0\.0\.1 runs slot b/, 'through scripts/flash remote: slot b committed');
    t.match(r1.out, /TASK \[Wait for the tunnels that were up before\][\s\S]*?\n(ok|changed): \[branch1\]/, 'and the tunnel that was up is up again');
    if (r1.code !== 0) return t.comment(board.console().slice(-4000));
  }
  t.comment(`upgrade to slot b, commit: ${((Date.now() - tGood) / 1000).toFixed(1)} s`);
  if (!(await tunnelBack('slot b (new image)'))) return;
  t.equal((await board.ssh('cat /etc/sitelink/upgrade-test-stamp')).stdout.trim(), stamp, "the new image's root filesystem runs");
  s = await slots();
  t.equal(s?.booted, 'b', 'booted from slot b');
  t.equal(s?.committed, 'b', 'slot b committed');
  t.equal(s?.trial, null, 'no trial pending');
  t.equal(s?.slots[1]?.commit, `${base.commit}+up-${stamp}`, "slot b holds the new image's manifest");
  t.equal(s?.slots[0]?.commit, base.commit, 'slot a still holds the old image');
  t.equal(await hostKey(), keyBefore, 'the SSH host key survived (config store untouched)');
  t.equal((await board.ssh('cat /config/persist-check')).stdout.trim(), token, 'the file written to /config before the reboot is there');

  // 3. An image whose daemon fails: rolled back to slot b by itself.
  const tFail = Date.now();
  const mark = board.consoleMark();
  // Its daemon never comes up: the commit time is all it waits (counted from
  // boot, so it only needs to be past the marker's uptime).
  const r2 = await flashRemote(failing, '45s');
  t.equal(r2.code, 1, 'scripts/flash remote reports the rollback');
  t.match(r2.stderr, /rolled back/, r2.stderr.slice(-1500));
  t.ok(await board.waitForConsole(/slot a not healthy/, mark, 1000), 'the trial slot gave up and rebooted (console)');
  t.ok(await board.waitForConsole(/slot a was not committed: back to slot b/, mark, 1000), 'U-Boot took the committed slot (console)');
  t.comment(`failing upgrade and rollback: ${((Date.now() - tFail) / 1000).toFixed(1)} s`);
  if (!(await tunnelBack('slot b again (after rollback)'))) return;
  s = await slots();
  t.equal(s?.booted, 'b', 'running slot b');
  t.equal(s?.committed, 'b', 'slot b still committed');
  t.equal(s?.lastFailed, 'a', 'the failed trial is reported');
  t.equal((await board.ssh('cat /etc/sitelink/upgrade-test-stamp')).stdout.trim(), stamp, 'the good image runs again');

  // 4. An image whose boot hangs: only the watchdog can bring the board back.
  const tHang = Date.now();
  const hangMark = board.consoleMark();
  const r3 = await flashRemote(hanging, '3600s');
  t.equal(r3.code, 1, 'scripts/flash remote reports the rollback of the hanging image');
  t.match(r3.stderr, /rolled back/, r3.stderr.slice(-1500));
  t.ok(await board.waitForConsole(/watchdog: armed for this trial boot/, hangMark, 1000), 'the trial boot armed the watchdog (console)');
  t.ok(await board.waitForConsole(/hanging on purpose/, hangMark, 1000), 'the trial hung in its boot (console)');
  t.ok(await board.waitForConsole(/slot a was not committed: back to slot b/, hangMark, 1000), 'reset by the watchdog, U-Boot took the committed slot (console)');
  const hangLog = board.console().slice(-Math.min(board.console().length, board.consoleMark() - hangMark));
  t.notMatch(hangLog, /slot a not healthy/, 'the commit wait (an hour away) was not what rolled it back');
  t.comment(`hanging upgrade and watchdog rollback: ${((Date.now() - tHang) / 1000).toFixed(1)} s`);
  if (!(await tunnelBack('slot b again (after the watchdog reset)'))) return;
  s = await slots();
  t.equal(s?.booted, 'b', 'running slot b');
  t.equal(s?.committed, 'b', 'slot b still committed');
  t.equal(s?.lastFailed, 'a', 'the hung trial is reported');
  t.equal(s?.slots[0]?.commit, `${base.commit}+hangs`, 'slot a holds the image that hung');
  t.comment(`upgrade test total: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
