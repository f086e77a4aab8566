// The firmware image end to end: built by scripts/build-image (reused when
// nothing it is made from changed), booted by scripts/qemu-run, managed over
// SSH with a generated key. Checks on the emulated board: the AF_ALG
// known-answer test runs on the kernel's accelerated drivers, every
// cross-built C test passes, the addon loads under the board's Node (Debian
// 13's Node 20, with the image's reduced ICU data serving Intl), the
// CLI runs, password logins are refused, and poweroff ends the VM (that /config
// survives reboots with the same SSH host key: test/qemu/upgrade.test.ts).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/paths.ts';
import { waitForLine } from '../lib/wait.ts';
import { ensureImage, imageIsCurrent, IMAGE_BUILD_LOG } from '../lib/qemu-board.ts';

const BOARD = 'qemu-virt-arm64';
const OUT = path.join(repoRoot, 'out');
const IMAGE = path.join(OUT, BOARD);
const MARKER = /SITELINK-BOOT-DONE uptime=([0-9.]+)s/;
const BOOT_TIMEOUT_MS = 180_000;

function skipReason(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'SKIPPED: needs root (the image build makes device nodes and reads apt lists)';
  }
  for (const tool of [
    '/usr/bin/qemu-system-aarch64',
    '/usr/bin/aarch64-linux-gnu-gcc',
    '/usr/bin/ssh',
    '/usr/bin/ssh-keygen',
    '/usr/sbin/mkfs.ext4',
    '/usr/sbin/debugfs',
  ]) {
    if (!existsSync(tool)) return `SKIPPED: ${tool} is missing (bash scripts/setup installs it)`;
  }
  return null;
}

interface Manifest {
  kernel: string;
  artifacts: Record<string, { sha256: string; bytes: number }>;
  sizes: Record<string, { unpacked: number; packed: number }>;
  compression?: { kernel: string; initramfs: string };
  kernelArgs?: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

interface Run { code: number | null; stdout: string; stderr: string }

/** One HTTP/1.0 GET on loopback; resolves with whatever came back before the deadline. */
function httpGet(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const s = connect(port, '127.0.0.1');
    const done = (): void => { clearTimeout(timer); s.destroy(); resolve(data); };
    const timer = setTimeout(done, timeoutMs);
    s.on('connect', () => s.write('GET /index.html HTTP/1.0\r\n\r\n'));
    s.on('data', (d: Buffer) => { data += d.toString(); });
    s.on('end', done);
    s.on('error', done);
  });
}

class Guest {
  proc: ChildProcess | null = null;
  console = '';
  constructor(private readonly dir: string, readonly sshPort: number, private readonly udpBase: number, readonly httpPort: number) {}

  get key(): string { return path.join(this.dir, 'id_ed25519'); }
  get knownHosts(): string { return path.join(this.dir, 'known_hosts'); }

  /** Boots and resolves with [wall-clock ms to the marker, guest uptime s]. */
  async boot(): Promise<[number, number]> {
    const t0 = Date.now();
    const proc = spawn('bash', [path.join(repoRoot, 'scripts', 'qemu-run'), '--board', BOARD,
      '--config', path.join(this.dir, 'config.img'), '--authorized-keys', `${this.key}.pub`,
      '--ssh-port', String(this.sshPort), '--ike-port', String(this.udpBase), '--natt-port', String(this.udpBase + 1),
      '--hostfwd', `tcp:127.0.0.1:${this.httpPort}-:8080`],
    { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    if (!proc.stdout || !proc.stderr) throw new Error('qemu-run: no stdio');
    proc.stdout.on('data', (d: Buffer) => { this.console += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { this.console += d.toString(); });
    const line = await waitForLine(proc.stdout, MARKER, BOOT_TIMEOUT_MS);
    return [Date.now() - t0, Number(MARKER.exec(line)?.[1] ?? NaN)];
  }

  ssh(cmd: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Run {
    const r = spawnSync('ssh', ['-p', String(this.sshPort), '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20',
      '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${this.knownHosts}`,
      '-o', 'LogLevel=ERROR', '-i', this.key, ...extra, 'root@127.0.0.1', cmd],
    { encoding: 'utf8', timeout: 180_000, env, stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Waits for QEMU to exit (-no-reboot turns poweroff into an exit). */
  async exited(timeoutMs: number): Promise<boolean> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      p.once('exit', () => { clearTimeout(timer); resolve(true); });
    });
  }

  kill(): void {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null && p.pid !== undefined) p.kill('SIGTERM');
  }
}

const skip = skipReason();

t.test('firmware image in QEMU', { skip: skip ?? false }, async (t) => {
  if (!imageIsCurrent()) {
    t.comment(`building the image (log: ${IMAGE_BUILD_LOG})`);
    const err = ensureImage();
    if (err) { t.fail(err); return; }
  } else {
    t.comment('image is current, not rebuilt');
  }
  const manifest = JSON.parse(readFileSync(path.join(IMAGE, 'manifest.json'), 'utf8')) as Manifest;
  const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
  t.comment(`size table (kernel ${manifest.kernel}):\n` + Object.entries(manifest.sizes)
    .map(([k, v]) => `  ${k.padEnd(26)} ${mib(v.unpacked).padStart(10)} unpacked ${mib(v.packed).padStart(10)} packed`).join('\n'));
  const initrd = Object.keys(manifest.artifacts).find((n) => n.startsWith('initramfs.cpio.'));
  t.ok(initrd, `the manifest lists the root filesystem (${initrd ?? 'none'})`);
  const imageBytes = (manifest.artifacts['vmlinuz']?.bytes ?? 0) + (manifest.artifacts[initrd ?? '']?.bytes ?? 0);
  // The budget of issue 14: kernel + root filesystem at most 32 MB, in the
  // issue's decimal units (its "33 MB Image" is Debian 12's 32,956,352 bytes).
  t.ok(imageBytes <= 32_000_000, `kernel + root filesystem: ${imageBytes} bytes (${mib(imageBytes)}), budget 32 MB = 32,000,000 bytes`);
  // The kernel as U-Boot's booti takes it (board profile: lzma on QEMU virt),
  // with the header booti knows lzma by: 5d 00.
  const kernelHead = readFileSync(path.join(IMAGE, 'vmlinuz')).subarray(0, 2).toString('hex');
  t.equal(manifest.compression?.kernel, 'lzma', 'the manifest records the kernel as lzma');
  t.equal(kernelHead, '5d00', 'vmlinuz starts with the lzma header booti recognises');
  t.equal(manifest.sizes['kernel']?.packed, manifest.artifacts['vmlinuz']?.bytes, 'the kernel row of the size table is the shipped file');

  const dir = mkdtempSync(path.join(tmpdir(), 'sl-qemu-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kg = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sitelink-test', '-f', path.join(dir, 'id_ed25519')]);
  t.equal(kg.status, 0, 'generated an SSH key for this run');

  // UDP forwards need free ports too; two above a free TCP port are almost
  // always free, and qemu fails loudly (no marker) if not.
  const guest = new Guest(dir, await freePort(), 20000 + Math.floor(Math.random() * 20000), await freePort());
  t.teardown(() => guest.kill());
  let wall: number, uptime: number;
  try {
    [wall, uptime] = await guest.boot();
  } catch (e) {
    t.fail(`guest did not boot: ${String(e)}\n${guest.console.slice(-3000)}`);
    return;
  }
  t.comment(`boot time: ${(wall / 1000).toFixed(1)} s to the boot marker (guest uptime ${uptime} s)`);
  t.match(guest.console, /config store: \/dev\/vda on \/config/, 'the config store is mounted on /config');
  t.match(guest.console, /dropbear on port 22 \(keys only\)/, 'dropbear started key-only');
  t.match(guest.console, /firewall: base WAN filter on eth0/, 'the base WAN filter loaded');

  // The board profile's kernel arguments (BOARD_KERNEL_ARGS, manifest.json) on a direct boot (scripts/qemu-run).
  const cmdline = guest.ssh('cat /proc/cmdline').stdout.trim();
  t.ok(manifest.kernelArgs && cmdline.split(' ').includes(manifest.kernelArgs), `qemu-run passed the image's kernel arguments (${cmdline})`);
  t.match(guest.ssh('dmesg').stdout, /initcall crypto_kdf108_init blacklisted/, 'the kernel skipped the blacklisted initcalls');
  const tests = guest.ssh('ls /usr/lib/sitelink/tests');
  t.equal(tests.code, 0, `SSH key login works (${tests.stderr.trim()})`);
  const names = tests.stdout.split(/\s+/).filter((n) => n.startsWith('test_'));

  await t.test('the deferred parts unpacked at boot, libnode through unbcj-zstd', async (t) => {
    // scripts/image/pack-initramfs: what the kernel left packed, /init unpacked
    // (xz, and zstd + the ARM64 filter for the deferred-zstd parts).
    const deferred = Object.fromEntries(
      (manifest.compression?.initramfs ?? '').split(' ')
        .filter((w) => /=deferred/.test(w)).map((w) => w.split('=') as [string, string]));
    t.match(guest.console, /root filesystem: deferred parts unpacked at uptime/, 'rcS saw every deferred part unpacked');
    const left = guest.ssh('ls /usr/lib/sitelink/deferred');
    t.equal(left.stdout.trim().split(/\s+/).join(' '), 'done status', 'the archives are gone once unpacked (RAM root filesystem)');
    // rcS waits on the FIFO the unpack signals through, not by polling the status file.
    t.equal(guest.ssh('test -p /usr/lib/sitelink/deferred/done').code, 0, 'deferred/done is the FIFO rcS waited on');
    t.ok(Object.values(deferred).includes('deferred-zstd'), `a part is packed deferred-zstd (${JSON.stringify(deferred)})`);
    // Each part's own line in the kernel log (/init mounts devtmpfs before the unpack
    // starts, rcS lifts /dev/kmsg's rate limit for the boot: none is lost).
    const log = guest.ssh('dmesg | grep "sitelink-boot: deferred"').stdout;
    for (const [part, how] of Object.entries(deferred)) {
      const file = `${part}.cpio.${how === 'deferred-zstd' ? 'bcj.zst' : 'xz'}`;
      t.match(log, new RegExp(`deferred ${file.replace(/\./g, '\\.')} unpacked \\(uptime`), `${file}: unpacked, stamped in the kernel log`);
    }
    // libnode's unwind tables were dropped for size (scripts/image/drop-unwind-tables.mjs):
    // Node runs from it, and an uncaught JavaScript error still exits cleanly with its stack.
    const thrown = guest.ssh('node -e "function deep() { throw new Error(\'from JS\') } deep()"; echo "exit=$?"');
    t.match(thrown.stderr, /Error: from JS\n\s+at deep /, 'an uncaught JavaScript error: its message and stack');
    t.match(thrown.stdout, /exit=1/, 'and exit status 1');
  });

  await t.test('AF_ALG known-answer test runs on the kernel drivers', async (t) => {
    t.ok(names.includes('test_crypto_afalg'), 'test_crypto_afalg is in the image');
    const r = guest.ssh('/usr/lib/sitelink/tests/test_crypto_afalg');
    t.comment(r.stdout.trim().split('\n').filter((l) => /driver|offered|passed|FAIL/.test(l)).join('\n'));
    t.equal(r.code, 0, `exit status 0 (got ${r.code}; exit 77 would be a skip)\n${r.stderr}`);
    t.notMatch(r.stdout, /SKIPPED/, 'it ran, not skipped');
    t.match(r.stdout, /all AF_ALG checks passed/, 'all checks passed');
    // The QEMU board's CPU has the ARMv8 crypto extensions: the kernel's CE
    // drivers must be what AF_ALG bound (board/qemu-virt-arm64/profile.sh).
    t.match(r.stdout, /kernel driver \S*gcm-aes-ce/, 'AES-GCM went through gcm-aes-ce');
    t.match(r.stdout, /kernel driver \S*sha256-ce/, 'HMAC-SHA256 went through sha256-ce');
  });

  await t.test('every cross-built C test passes on arm64', async (t) => {
    t.ok(names.length > 0, `C tests in the image: ${names.join(' ')}`);
    for (const name of names) {
      const r = guest.ssh(`cd /usr/lib/sitelink/tests && ./${name}`);
      if (r.code === 77) t.pass(name, { skip: r.stdout.trim().split('\n').pop() ?? 'exit 77' });
      else t.equal(r.code, 0, `${name} exit status${r.code === 0 ? '' : `\n${r.stdout.slice(-1500)}${r.stderr}`}`);
    }
  });

  await t.test('base WAN filter', async (t) => {
    const r = guest.ssh('nft list table inet sitelink_base');
    t.equal(r.code, 0, `nft lists the table ${r.stderr}`);
    t.match(r.stdout, /iifname != "eth0" accept/, 'only the WAN is filtered');
    t.match(r.stdout, /udp dport \{ 500, 4500 \} accept/, 'IKE and NAT-T are open');
    t.match(r.stdout, /counter packets \d+ bytes \d+ drop/, 'everything else on the WAN is dropped');
    t.match(r.stdout, /hook forward[\s\S]*ct state established,related accept[\s\S]*drop/, 'forwarded from the WAN: only replies');
  });

  await t.test('the board forwards IPv4 and IPv6 by itself (BOARD_RT_FORWARDING)', async (t) => {
    const r = guest.ssh('cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding');
    t.equal(r.code, 0, r.stderr);
    t.same(r.stdout.trim().split(/\s+/), ['1', '1'], 'net.ipv4.ip_forward = 1, net.ipv6.conf.all.forwarding = 1');
  });

  await t.test('the WAN filter drops a port it does not list', async (t) => {
    // A web server on guest port 8080 (not in the filter), forwarded from the
    // host: blocked with the filter, reachable without it, so the filter (not
    // a dead server) is what stopped it.
    t.equal(guest.ssh('mkdir -p /tmp/www && echo sitelink-http-ok > /tmp/www/index.html && httpd -p 8080 -h /tmp/www').code, 0, 'httpd on 8080');
    const blocked = await httpGet(guest.httpPort, 6000);
    t.notMatch(blocked, /sitelink-http-ok/, 'blocked while the filter is loaded');
    t.match(guest.ssh('nft list table inet sitelink_base').stdout, /counter packets [1-9]\d* bytes \d+ drop/, 'and counted by the drop rule');
    t.equal(guest.ssh('nft delete table inet sitelink_base').code, 0, 'filter removed');
    t.match(await httpGet(guest.httpPort, 20000), /sitelink-http-ok/, 'reachable without the filter');
    t.equal(guest.ssh('/etc/init.d/firewall && killall httpd').code, 0, 'filter restored');
  });

  await t.test("native addon loads under the board's Node", async (t) => {
    const r = guest.ssh(
      "node -e \"const m = require('/usr/lib/sitelink/sitelink_native.node'); console.log(process.version, Object.keys(m).join(','))\"",
    );
    t.equal(r.code, 0, `node could load the arm64 addon ${r.stderr}`);
    t.match(r.stdout, /^v20\./, `Debian 13's Node 20: ${r.stdout.trim()}`);
  });

  await t.test("Node's Intl runs on the image's reduced ICU data", async (t) => {
    // scripts/image/slim-icu keeps root + English, time zones, normalization
    // and break rules: what a router's logs and CLI use.
    const js = [
      "new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Paris', dateStyle: 'medium', timeStyle: 'long' }).format(new Date(0))",
      "'e\\u0301'.normalize('NFC').length", "new URL('http://b\\u00fccher.example/').host", '(1234567.5).toLocaleString()',
      "new Intl.DateTimeFormat('de-DE', { timeZone: 'Asia/Tokyo' }).format(new Date(0))",
    ].map((e) => `console.log(${e})`).join(';');
    const r = guest.ssh(`node -e "${js}"`);
    t.equal(r.code, 0, `node ran ${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    t.match(lines[0] ?? '', /^Jan 1, 1970, 1:00:00\sAM GMT\+1$/, 'time zones and English formats');
    t.equal(lines[1], '1', 'NFC normalization');
    t.equal(lines[2], 'xn--bcher-kva.example', 'IDNA (UTS #46) for URLs');
    t.equal(lines[3], '1,234,567.5', 'number formatting');
    t.match(lines[4] ?? '', /1970/, `a locale without data falls back to root, no error: ${lines[4] ?? ''}`);
  });

  await t.test('sitelinkctl', async (t) => {
    const has = guest.ssh('test -f /usr/lib/sitelink/sitelinkctl.mjs');
    if (has.code !== 0) {
      t.pass('sitelinkctl --help', { skip: 'SKIPPED: no sitelinkctl bundle in the image yet (firmware/src/ctl/sitelinkctl.ts)' });
      return;
    }
    const help = guest.ssh('sitelinkctl --help');
    t.match(help.stdout + help.stderr, /usage: sitelinkctl/, "the CLI runs on the board's Node and prints its usage");
    // No configuration was provisioned, so no daemon: status must say so
    // cleanly (an exit status, not a JavaScript stack trace).
    const st = guest.ssh('sitelinkctl status');
    t.not(st.code, 0, 'status fails without a daemon');
    t.notMatch(st.stdout + st.stderr, /^\s+at /m, `no stack trace: ${(st.stdout + st.stderr).trim()}`);
    t.match(guest.console, /sitelinkd: (not part of this image|no configuration in the store)/, 'init logged why sitelinkd is not running');
  });

  await t.test('password login is refused', async (t) => {
    // A real password attempt: ssh reads the dummy password from an askpass
    // helper, with public keys turned off.
    const askpass = path.join(dir, 'askpass');
    writeFileSync(askpass, '#!/bin/sh\necho not-the-password\n');
    chmodSync(askpass, 0o700);
    const env = { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' };
    const r = guest.ssh('echo logged-in', ['-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no',
      '-o', 'PasswordAuthentication=yes', '-o', 'KbdInteractiveAuthentication=yes', '-o', 'NumberOfPasswordPrompts=1'], env);
    t.not(r.code, 0, 'ssh failed');
    t.notMatch(r.stdout, /logged-in/, 'no shell ran');
    t.match(r.stderr, /Permission denied \(publickey\)/, `the server offers public keys only: ${r.stderr.trim()}`);
  });

  // That /config survives a reboot with the same SSH host key is checked by
  // test/qemu/upgrade.test.ts across its reboots (a second boot here would cost
  // most of a minute); here only that poweroff ends QEMU cleanly.
  await t.test('poweroff ends the VM', async (t) => {
    const w = guest.ssh('sync && (sleep 1; poweroff) >/dev/null 2>&1 &');
    t.equal(w.code, 0, 'poweroff issued');
    t.ok(await guest.exited(60_000), 'QEMU exited on poweroff (-no-reboot)');
  });
});
