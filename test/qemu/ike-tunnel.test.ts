// IKEv2 from the board: the firmware image boots in QEMU with sitelink.conf
// and secrets in its config store, sitelinkd starts at boot and initiates
// IKE_SA_INIT + IKE_AUTH (version = 2, PSK, ESP aes128gcm16) from behind QEMU's user-mode
// NAT to a headquarters gateway in a host namespace:
//   (a) sitelinkd (dist/sitelinkd.cjs on the host), then the Ansible role;
//   (b) strongSwan charon (kernel-libipsec), in HQ's place on the same boot:
//       sitelinkd at HQ stops, charon starts at its address, the board
//       renegotiates (one boot for both: a QEMU boot costs most of a minute).
// Pings cross the tunnel both ways; the board's ESP SA must run on AF_ALG
// with a kernel driver (sitelinkctl sas --json over SSH). Boot-to-tunnel time
// (QEMU start to the first ping through the tunnel) is reported, broken down by
// the board's own logs (test/lib/boot-timeline.ts). Network (scripts/demo.d/net) and configs (scripts/demo.d/conf)
// are the demo's:
//   board 10.0.2.15 (LAN address 10.1.0.1) -- slirp NAT as 198.51.100.1 --
//   PREFIX-hq 198.51.100.2, LAN 10.0.0.0/24 -- PREFIX-lan host 10.0.0.10
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../lib/paths.ts';
import { run } from '../lib/proc.ts';
import { CHARON, Charon, swanctlConf } from '../lib/strongswan.ts';
import { QemuBoard, ensureImage, qemuSkipReason } from '../lib/qemu-board.ts';
import { Sitelinkd, sitelinkdPath } from '../netns/ike-sitelinkd.ts';
import { ansibleOnBoard } from './ansible-board.ts';
import { bootTimeline } from '../lib/boot-timeline.ts';
import type { SasResult, StatusResult } from '../../firmware/src/control/protocol.ts';

const skip = qemuSkipReason();
// One boot, two HQs and the Ansible role: minutes under TCG, far more on a
// loaded machine than the suite's 600 s default per file.
t.setTimeout(1_200_000);
const NET = path.join(repoRoot, 'scripts', 'demo.d', 'net');
const CONF = path.join(repoRoot, 'scripts', 'demo.d', 'conf');
let seq = 0;

interface Site {
  prefix: string;
  dir: string;
  psk: string;
}

/** Namespaces, configs and an SSH key for one run; torn down with the test. */
function site(t: Test): Site {
  const prefix = `slqi${process.pid % 10000}${seq++}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'sl-qike-'));
  t.teardown(() => {
    spawnSync('bash', [NET, 'down', prefix]);
    rmSync(dir, { recursive: true, force: true });
  });
  const up = spawnSync('bash', [NET, 'up', prefix], { encoding: 'utf8' });
  if (up.status !== 0) throw new Error(`scripts/demo.d/net up failed: ${up.stderr}`);
  const conf = spawnSync('bash', [CONF, dir], { encoding: 'utf8' });
  if (conf.status !== 0) throw new Error(`scripts/demo.d/conf failed: ${conf.stderr}`);
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id_ed25519')]);
  const psk = /= 0x([0-9a-f]+)/.exec(readFileSync(path.join(dir, 'hq.secrets'), 'utf8'))?.[1];
  if (!psk) throw new Error('no PSK in hq.secrets');
  return { prefix, dir, psk };
}

const hqLanPing = async (s: Site, count: number): Promise<boolean> =>
  (await run('ip', ['netns', 'exec', `${s.prefix}-lan`, 'ping', '-n', '-c', String(count), '-i', '0.3', '-W', '2', '10.1.0.1'])).code === 0;

/**
 * Pings the board's LAN from HQ's every 100 ms until the first reply comes back (or
 * `seconds` pass): the moment the tunnel first carries traffic, to about 0.1 s. One ping
 * per second with a 2 s wait, as before, put up to 3 s of polling into the boot time.
 * With a deadline (-w), -c counts replies: ping exits at the first one.
 */
const firstTunnelReply = async (s: Site, seconds: number): Promise<boolean> =>
  (await run('ip', ['netns', 'exec', `${s.prefix}-lan`, 'ping', '-n', '-q', '-c', '1', '-i', '0.1', '-w', String(seconds), '10.1.0.1'],
    { timeoutMs: (seconds + 5) * 1000 })).code === 0;

async function bootBoard(t: Test, s: Site): Promise<QemuBoard | null> {
  try {
    const board = await QemuBoard.boot(`${s.prefix}-wan`, {
      config: path.join(s.dir, 'config.img'), key: path.join(s.dir, 'id_ed25519'),
      sitelinkConf: path.join(s.dir, 'branch.conf'), secrets: path.join(s.dir, 'branch.secrets'),
    });
    t.teardown(() => board.stop());
    t.pass('board booted');
    return board;
  } catch (e) {
    t.fail(String(e));
    return null;
  }
}

/**
 * sitelinkd's memory on the board with one tunnel up (issue 10's one-tunnel goal): VmHWM and VmRSS
 * from /proc/PID/status. The guest runs a real arm64 kernel, so these are the board's own figures
 * (qemu-user's RSS would be the emulator's). Reported, not judged: it varies between boots; only
 * that it was read is checked. The pattern is written [s]itelinkd so this shell's own command
 * line does not match it.
 */
async function boardRss(t: Test, board: QemuBoard, label: string): Promise<void> {
  const r = await board.ssh(
    "for d in /proc/[0-9]*; do tr '\\000' ' ' < $d/cmdline 2>/dev/null | grep -q '[s]itelinkd[.]cjs' && " +
      "{ grep -E '^(VmHWM|VmRSS|RssAnon|RssFile|RssShmem):' $d/status; " +
      // Where it goes: resident kB per mapping name (anonymous ones as [anon]), the largest first.
      "awk '/^[0-9a-f]+-/ { n = (NF >= 6) ? $6 : \"[anon]\" } /^Rss:/ { r[n] += $2 } " +
      "END { for (n in r) if (r[n] >= 512) print r[n], n }' $d/smaps | sort -rn | head -8; }; done",
  );
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(r.stdout)?.[1] ?? 0);
  const [hwm, rss] = [kb('VmHWM'), kb('VmRSS')];
  const mb = (x: number): string => (x / 1024).toFixed(1);
  t.comment(`board sitelinkd memory, one tunnel up (${label}): VmHWM ${mb(hwm)} MB, VmRSS ${mb(rss)} MB ` +
    `(anonymous ${mb(kb('RssAnon'))}, shmem ${mb(kb('RssShmem'))} = files of the RAM root file system, file-backed ${mb(kb('RssFile'))})`);
  t.comment(`board sitelinkd resident kB by mapping: ${r.stdout.split('\n').filter((l) => /^\d+ /.test(l)).join(', ')}`);
  t.ok(hwm > 0 && rss > 0, `read sitelinkd's VmHWM and VmRSS on the board\n${r.stdout}${r.stderr}`);
  // The addon build without its own libcrypto loaded (native.ts warns when it falls back to the other).
  const out = await board.ssh('cat /var/log/sitelinkd.log');
  t.notMatch(out.stdout, /sitelink_native_libcrypto\.node/, 'the board loaded the addon that takes OpenSSL from libnode (no fallback)');
}

/**
 * Shared checks once the HQ side runs: tunnel up, traffic, AF_ALG, no PSK. Returns false when the tunnel never
 * came up. `since`: when the board started towards this tunnel (its boot, or the renegotiation with a new HQ).
 */
async function tunnelChecks(t: Test, s: Site, board: QemuBoard, hqLog: () => string, label: string, since: number): Promise<boolean> {
  const lan = await board.ssh('ip addr show dev lo | grep -q 10.1.0.1/32 || ip addr add 10.1.0.1/32 dev lo');
  t.equal(lan.code, 0, `board LAN address 10.1.0.1 ${lan.stderr}`);
  const up = await firstTunnelReply(s, 120);
  const pingAt = Date.now();
  const secs = ((pingAt - since) / 1000).toFixed(1);
  if (!up) {
    const logs = await board.ssh('tail -30 /var/log/sitelink/negotiation.log; echo ---; tail -30 /var/log/sitelinkd.log');
    t.fail(
      `no traffic through the tunnel board -> ${label} within 120 s.\n` +
        `board negotiation log / sitelinkd output:\n${logs.stdout}${logs.stderr}\n` +
        `${label} log:\n${hqLog().slice(-4000)}`,
    );
    return false;
  }
  t.pass(`tunnel board -> ${label} carried a ping`);
  if (since === board.startedAt) {
    const boot = /SITELINK-BOOT-DONE uptime=([0-9.]+)s/.exec(board.console())?.[1] ?? '?';
    t.comment(`boot-to-tunnel (${label}): ${secs} s from QEMU start to the first ping through the tunnel (board boot marker at uptime ${boot} s)`);
    t.comment(await bootTimeline(board, pingAt));
  } else {
    t.comment(`renegotiation (${label}): ${secs} s from sitelinkctl initiate to the first ping through the tunnel`);
  }
  t.ok(await hqLanPing(s, 5), 'HQ LAN host -> board LAN: 5/5 through the tunnel');
  const fromBoard = await board.ssh('ping -c 5 -W 2 -I 10.1.0.1 10.0.0.10');
  t.match(fromBoard.stdout, /5 packets transmitted, 5 packets received/, `board LAN -> HQ LAN host: 5/5\n${fromBoard.stdout}`);
  await boardRss(t, board, label);

  const sasRun = await board.ssh('sitelinkctl sas --json');
  t.equal(sasRun.code, 0, `sitelinkctl sas --json on the board ${sasRun.stderr}`);
  let sas: SasResult | null = null;
  try { sas = JSON.parse(sasRun.stdout) as SasResult; } catch { t.fail(`sas output is not JSON: ${sasRun.stdout.slice(0, 500)}`); }
  if (sas) {
    const mm = sas.mainMode[0];
    t.equal(sas.mainMode.length, 1, 'board: one IKE SA');
    t.equal(mm?.version, 2, 'over IKEv2 (the demo default)');
    t.equal(mm?.role, 'initiator', 'board initiated');
    t.equal(mm?.nat.local, true, 'board detected that it is behind a NAT (NAT-D)');
    t.equal(mm?.natt, true, 'and floated to UDP 4500');
    t.equal(sas.quickMode.length, 1, 'board: one IPsec SA pair');
    const qm = sas.quickMode[0];
    t.equal(qm?.algorithm, 'aes128gcm16', 'ESP aes128gcm16');
    t.equal(qm?.encap, 'udp', 'ESP in UDP');
    // crypto-backend = auto chooses by a start-up probe (AF_ALG only when faster for
    // 1400-byte packets). Under QEMU's TCG the figures are emulator timings, not the
    // hardware's: only that the probe ran, AF_ALG was measured and the choice follows
    // the figures is checked, not which backend wins.
    const p = qm?.probe;
    t.comment(`board probe (TCG timings): ${JSON.stringify(p)}; chose ${qm?.backend} (${qm?.driver})`);
    t.ok(p !== undefined && p.opensslMtuNs > 0 && p.afalgMtuNs > 0, 'the auto backend probe measured OpenSSL and AF_ALG');
    if (p) t.equal(qm?.backend, p.afalgMtuNs < p.opensslMtuNs ? 'afalg' : 'openssl', 'and chose the faster at 1400 bytes');
    if (qm?.backend === 'afalg') t.match(qm.driver, /gcm-aes-ce/, `with the kernel's ARMv8 CE driver (${qm.driver})`);
    t.ok(
      BigInt(qm?.packetsIn ?? '0') >= 10n && BigInt(qm?.packetsOut ?? '0') >= 10n,
      `SA counted the pings (in ${qm?.packetsIn}, out ${qm?.packetsOut})`,
    );
  }
  const st = await board.ssh('sitelinkctl status --json');
  let state: string | undefined;
  try { state = (JSON.parse(st.stdout) as StatusResult).peers.find((p) => p.name === 'hq')?.state; } catch { /* reported below */ }
  t.equal(state, 'up', `sitelinkctl status on the board: hq is up (exit ${st.code})\n${st.stdout.slice(0, 800)}${st.stderr.slice(0, 800)}`);

  const daemonOut = (await board.ssh('cat /var/log/sitelinkd.log')).stdout;
  t.notMatch(daemonOut, /supervise: sitelinkd exited/, `the board's sitelinkd ran without crashing or restarting\n${daemonOut.slice(-2500)}`);
  // The board's config has syslog = yes: busybox syslogd's ring buffer (logread) gets the
  // negotiation through busybox logger, at daemon facility (IKEv1 installs an "IPsec SA
  // pair", IKEv2 a "child SA pair").
  const syslog = await board.ssh('logread');
  const installed = /daemon\.info sitelink(\[\d+\])?: .*(IPsec|child) SA pair installed.*/.exec(syslog.stdout)?.[0];
  t.ok(installed, `board syslog (logread) carries the negotiation log: ${installed?.slice(0, 160) ?? 'no line'}`);
  if (!installed) t.comment(`logread:\n${syslog.stdout.slice(-2000)}${syslog.stderr}`);
  const boardLogs = await board.ssh('cat /var/log/sitelink/negotiation.log /var/log/sitelinkd.log; logread 2>/dev/null');
  // rcS raises net.core.rmem_max so that UDP 500 gets the 1 MiB it asks for (ike-transport.ts).
  const rcvbuf = /UDP 500 \(IPv4\) receive buffer: \d+ KiB[^\n"]*/.exec(boardLogs.stdout)?.[0];
  t.match(rcvbuf ?? '', /receive buffer: 2048 KiB as the kernel reports it \(doubled\)$/, `board UDP 500 receive buffer: ${rcvbuf ?? 'not logged'}`);
  const all = boardLogs.stdout + sasRun.stdout + st.stdout + board.console() + hqLog();
  t.notOk(all.toLowerCase().includes(s.psk.toLowerCase()), 'the PSK is in no log, console or status output');
  return true;
}

t.test('board (QEMU, behind user-mode NAT) -> sitelinkd, then strongSwan charon, at HQ', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`${sitelinkdPath} is not built (npm run build)`);
  const built = ensureImage();
  if (built) return t.fail(built);
  const s = site(t);
  const hq = await Sitelinkd.start(`${s.prefix}-hq`, {
    config: path.join(s.dir, 'hq.conf'), log: path.join(s.dir, 'hq.log'), socket: path.join(s.dir, 'hq-ctl', 'control.sock'),
  }, 30_000);
  let hqRunning = true;
  t.teardown(() => (hqRunning ? hq.stop() : undefined));
  const board = await bootBoard(t, s);
  if (!board) return;

  await t.test('(a) sitelinkd at HQ', async (t) => {
    const ok = await tunnelChecks(t, s, board, () => hq.logText() + hq.recentOutput(), 'sitelinkd', board.startedAt);
    if (!ok) return;
    const hqSas = await run('ip', ['netns', 'exec', `${s.prefix}-hq`, process.execPath, path.join(repoRoot, 'dist', 'sitelinkctl.mjs'),
      '--socket', hq.files.socket, '--json', 'sas']);
    const parsed = JSON.parse(hqSas.stdout) as SasResult;
    const remote = parsed.mainMode[0]?.remote ?? '';
    t.match(remote, /^198\.51\.100\.1:\d+$/, `HQ sees the board at the NAT's address (${remote})`);
    t.not(remote, '198.51.100.1:4500', 'on a port the NAT rewrote');
    t.equal(parsed.mainMode[0]?.nat.remote, true, 'HQ detected the peer behind NAT');
    t.ok(BigInt(parsed.quickMode[0]?.packetsIn ?? '0') >= 10n, 'HQ SA counted the pings');
    // The same boot serves the Ansible role (a further QEMU boot would cost minutes).
    await ansibleOnBoard(t, { ns: `${s.prefix}-wan`, key: path.join(s.dir, 'id_ed25519'), psk: s.psk }, board);
  });

  await t.test(
    '(b) strongSwan charon at HQ, same boot',
    { skip: existsSync(CHARON) ? false : `SKIPPED: ${CHARON} is missing (bash scripts/setup installs strongSwan)` },
    async (t) => {
      await hq.stop();
      hqRunning = false;
      const charon = await Charon.start(
        `${s.prefix}-hq`,
        path.join(s.dir, 'charon'),
        swanctlConf({
          name: 'branch1',
          version: 2,
          localAddr: '198.51.100.2',
          remoteAddr: '%any',
          localId: 'hq.sitelink.demo',
          remoteId: 'branch1.sitelink.demo',
          localTs: '10.0.0.0/24',
          remoteTs: '10.1.0.0/24',
          ikeProposals: 'aes128-sha256-modp2048',
          espProposals: 'aes128gcm16',
          pskHex: s.psk,
        }),
      );
      t.teardown(() => charon.stop());
      // The board's SAs with the old HQ are gone with it: drop them and negotiate anew.
      const since = Date.now();
      const re = await board.ssh('sitelinkctl terminate hq; sitelinkctl initiate hq');
      t.comment(`board: sitelinkctl terminate + initiate hq (exit ${re.code}): ${(re.stdout + re.stderr).trim()}`);
      const ok = await tunnelChecks(t, s, board, () => charon.log(), 'strongSwan', since);
      if (!ok) return;
      const list = await charon.listSas();
      t.match(list, /ESTABLISHED/, 'charon: ISAKMP SA established');
      t.match(list, /198\.51\.100\.1\[4501\]|198\.51\.100\.1\[\d+\]/, 'charon sees the board at the NAT address');
      t.match(list, /INSTALLED, TUNNEL-in-UDP/, 'charon: UDP-encapsulated tunnel-mode IPsec SA');
      t.match(list, /AES_GCM_16-128/, 'charon: AES-GCM-16 with a 128-bit key');
    },
  );
});
