// A static-key ESP-in-UDP tunnel between the emulated board and a
// sitelink-static gateway on the host, both running dist/sitelink-static.mjs:
// the board on Node 20 with its arm64 addon (crypto backend afalg, so the
// board's kernel drivers carry the tunnel; the auto backend's probe is checked
// by ike-tunnel.test.ts), the host on the host addon.
//
// QEMU runs inside a network namespace made for this test, so its user-mode
// network's "host" (10.0.2.2) is that namespace's loopback, where the host
// gateway listens. Board LAN 192.168.50.0/24, host LAN 192.168.60.0/24, each
// one address on its loopback; pings cross the tunnel both ways.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot, staticTool } from '../lib/paths.ts';
import { waitForLine, waitUntil } from '../lib/wait.ts';
import { StaticTunnel } from '../lib/static-tunnel.ts';
import { ensureImage } from '../lib/qemu-board.ts';
import type { StaticTunnelConfig, SaKeys } from '../lib/static-tunnel.ts';

const BOARD = 'qemu-virt-arm64';
const NS = `slqst${process.pid % 100000}`;
const BOARD_LAN = { net: '192.168.50.0/24', addr: '192.168.50.1' };
const HOST_LAN = { net: '192.168.60.0/24', addr: '192.168.60.1' };
const NATT_FWD = 4501; // host port forwarded to the board's 4500 (inside NS)

function skipReason(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'SKIPPED: needs root (network namespace, TUN)';
  for (const tool of ['/usr/bin/qemu-system-aarch64', '/usr/bin/aarch64-linux-gnu-gcc', '/usr/bin/ssh', '/usr/sbin/ip', '/usr/sbin/debugfs']) {
    if (!existsSync(tool)) return `SKIPPED: ${tool} is missing (bash scripts/setup installs it)`;
  }
  if (!existsSync(staticTool)) return `SKIPPED: ${staticTool} is missing (npm run build makes it once firmware/src/static exists)`;
  return null;
}

const keys = (encBytes: number, spi: number): SaKeys => ({
  spi: `0x${spi.toString(16).padStart(8, '0')}`,
  encKey: randomBytes(encBytes).toString('hex'),
});

const skip = skipReason();

t.test('static tunnel: board in QEMU <-> host gateway', { skip: skip ?? false }, async (t) => {
  const buildError = ensureImage();
  if (buildError) { t.fail(buildError); return; }
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-qemu-st-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = path.join(dir, 'id_ed25519');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);

  const sh = (args: readonly string[], input?: string): { code: number | null; out: string } => {
    const r = spawnSync(args[0] ?? 'false', args.slice(1), { encoding: 'utf8', input, timeout: 120_000 });
    return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
  };
  t.equal(sh(['ip', 'netns', 'add', NS]).code, 0, `namespace ${NS}`);
  t.teardown(() => { sh(['ip', 'netns', 'del', NS]); });
  sh(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
  sh(['ip', '-n', NS, 'addr', 'add', `${HOST_LAN.addr}/32`, 'dev', 'lo']);

  const qemu: ChildProcess = spawn('ip', ['netns', 'exec', NS, 'bash', path.join(repoRoot, 'scripts', 'qemu-run'), '--board', BOARD,
    '--config', path.join(dir, 'config.img'), '--authorized-keys', `${key}.pub`, '--ssh-port', '2222',
    '--ike-port', '4502', '--natt-port', String(NATT_FWD)], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => { if (qemu.exitCode === null) qemu.kill('SIGTERM'); });
  let console = '';
  qemu.stderr?.on('data', (d: Buffer) => { console += d.toString(); });
  qemu.stdout?.on('data', (d: Buffer) => { console += d.toString(); });
  if (!qemu.stdout) throw new Error('no stdout');
  try {
    await waitForLine(qemu.stdout, /SITELINK-BOOT-DONE/, 180_000);
  } catch (e) {
    t.fail(`board did not boot: ${String(e)}\n${console.slice(-2000)}`);
    return;
  }
  const ssh = (cmd: string, input?: string): { code: number | null; out: string } =>
    sh(['ip', 'netns', 'exec', NS, 'ssh', '-p', '2222', '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', 'root@127.0.0.1', cmd], input);

  // AES-128-GCM keys (16 + 4-byte salt, RFC 4106 section 8.1), fresh per run.
  const boardToHost = keys(20, 0x5001);
  const hostToBoard = keys(20, 0x6001);
  const tunnel = { encap: 'udp' as const, algorithm: 'aes128gcm16' as const, esn: true, replayWindow: 1024 };
  const boardCfg: StaticTunnelConfig = {
    tun: 'sl0', listen: { address: '0.0.0.0', port: 4500 }, backend: 'afalg', workers: 1, rawEsp: false,
    tunnels: [{ name: 'hq', ...tunnel, local: { address: '10.0.2.15', port: 4500 }, remote: { address: '10.0.2.2', port: 4500 },
      localSubnets: [BOARD_LAN.net], remoteSubnets: [HOST_LAN.net], out: boardToHost, in: hostToBoard }],
  };
  const hostCfg: StaticTunnelConfig = {
    tun: 'sl0', listen: { address: '127.0.0.1', port: 4500 }, backend: 'auto', workers: 1, rawEsp: false,
    tunnels: [{ name: 'branch', ...tunnel, local: { address: '127.0.0.1', port: 4500 }, remote: { address: '127.0.0.1', port: NATT_FWD },
      localSubnets: [HOST_LAN.net], remoteSubnets: [BOARD_LAN.net], out: hostToBoard, in: boardToHost }],
  };

  t.equal(ssh(`ip addr add ${BOARD_LAN.addr}/32 dev lo`).code, 0, 'board LAN address');
  t.equal(ssh('umask 077; cat > /tmp/static.json', JSON.stringify(boardCfg)).code, 0, 'board config copied (0600)');
  t.equal(ssh('sitelink-static --config /tmp/static.json > /tmp/static.log 2>&1 & echo $! > /tmp/static.pid').code, 0, 'board tool started');
  const up = await waitUntil(() => /sitelink-static: up/.test(ssh('cat /tmp/static.log').out), 60_000, 1000);
  t.ok(up, `board tool up:\n${ssh('cat /tmp/static.log').out}`);
  if (!up) return;

  const host = await StaticTunnel.start(NS, hostCfg, dir);
  t.teardown(() => host.stop());

  const fromBoard = ssh(`ping -c 3 -W 5 -I ${BOARD_LAN.addr} ${HOST_LAN.addr}`);
  t.match(fromBoard.out, /3 packets transmitted, [1-3] packets received/, `board -> host LAN through the tunnel\n${fromBoard.out}`);
  const fromHost = sh(['ip', 'netns', 'exec', NS, 'ping', '-c', '3', '-W', '5', '-I', HOST_LAN.addr, BOARD_LAN.addr]);
  t.match(fromHost.out, /3 packets transmitted, [1-3] received/, `host -> board LAN through the tunnel\n${fromHost.out}`);

  const hc = JSON.stringify(await host.counters());
  t.comment(`host counters: ${hc.slice(0, 600)}`);
  ssh('kill -USR1 $(cat /tmp/static.pid); sleep 1');
  const log = ssh('cat /tmp/static.log').out;
  t.comment(`board log:\n${log.split('\n').slice(-6).join('\n').slice(0, 1500)}`);
  // The board's SAs must run on the kernel's AES-GCM via AF_ALG (the CPU has
  // the crypto extensions), not on the OpenSSL fallback.
  const line = log.split('\n').find((l) => l.startsWith('{"counters"'));
  const sas = line ? (JSON.parse(line) as { sas?: Array<{ backend?: string; driver?: string; packets?: number }> }).sas ?? [] : [];
  t.equal(sas.length, 2, 'board has an inbound and an outbound SA');
  for (const sa of sas) {
    t.equal(sa.backend, 'afalg', 'board SA crypto backend is AF_ALG');
    t.match(sa.driver ?? '', /gcm-aes-ce/, `board SA driver ${sa.driver}`);
    t.ok((sa.packets ?? 0) > 0, 'and carried packets');
  }
  for (const k of [boardToHost.encKey, hostToBoard.encKey]) {
    t.notOk(log.includes(k) || host.recentOutput().includes(k), 'no key in either side\'s output');
  }
  ssh('kill $(cat /tmp/static.pid)');
});
