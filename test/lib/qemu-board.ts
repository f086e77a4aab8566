// The firmware image booted in QEMU inside a network namespace the caller
// made (scripts/demo.d/net makes PREFIX-wan for it), with SSH over QEMU's
// forward in that namespace. QEMU's forwards listen on 0.0.0.0 there: slirp
// sends the board's UDP 500/4500 through the forward sockets, and a socket
// bound to 127.0.0.1 could not reach a gateway in another namespace. The
// namespace is private to the caller, so nothing outside can reach them.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.ts';
import { run } from './proc.ts';
import type { RunResult } from './proc.ts';
import { waitForLine, waitUntil } from './wait.ts';

export const BOARD = 'qemu-virt-arm64';
export const IMAGE_DIR = path.join(repoRoot, 'out', BOARD);
const TOOLS = [
  '/usr/bin/qemu-system-aarch64',
  '/usr/bin/aarch64-linux-gnu-gcc',
  '/usr/bin/ssh',
  '/usr/bin/ssh-keygen',
  '/usr/sbin/ip',
  '/usr/sbin/debugfs',
];

/** Why a QEMU test cannot run here (environment only), or null. */
export function qemuSkipReason(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'SKIPPED: needs root (network namespaces, TUN)';
  for (const tool of TOOLS) if (!existsSync(tool)) return `SKIPPED: ${tool} is missing (bash scripts/setup installs it)`;
  return null;
}

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(p).reduce((m, e) => Math.max(m, newestMtime(path.join(p, e))), st.mtimeMs);
}

/** The paths the image is made from: a change under any of them means a rebuild. */
const IMAGE_INPUTS = ['board', 'scripts/build-image', 'scripts/image', 'native/src', 'native/binding', 'native/test',
  'native/CMakeLists.txt', 'native/cmake', 'firmware/src', 'scripts/bundle.mjs'];

/** Is out/<board>/manifest.json newer than everything the image is made from? */
export function imageIsCurrent(): boolean {
  const manifest = path.join(IMAGE_DIR, 'manifest.json');
  return existsSync(manifest) &&
    statSync(manifest).mtimeMs > Math.max(...IMAGE_INPUTS.map((p) => newestMtime(path.join(repoRoot, p))));
}

/** Where ensureImage() writes the build's output. */
export const IMAGE_BUILD_LOG = path.join(repoRoot, 'out', `${BOARD}.build.log`);

/** Builds the image unless it is current; returns an error text or null. */
export function ensureImage(): string | null {
  if (imageIsCurrent()) return null;
  // A fresh clone has no out/ yet.
  mkdirSync(path.dirname(IMAGE_BUILD_LOG), { recursive: true });
  const fd = openSync(IMAGE_BUILD_LOG, 'w');
  const b = spawnSync('bash', [path.join(repoRoot, 'scripts', 'build-image'), '--board', BOARD], {
    cwd: repoRoot,
    stdio: ['ignore', fd, fd],
    timeout: 1_200_000,
  });
  closeSync(fd);
  return b.status === 0 ? null
    : `scripts/build-image failed (${b.status ?? b.signal}):\n${readFileSync(IMAGE_BUILD_LOG, 'utf8').split('\n').slice(-30).join('\n')}`;
}

export interface BoardFiles {
  /** Config store image (created by qemu-run). */
  config: string;
  /** Private key; `${key}.pub` goes into the config store. */
  key: string;
  sitelinkConf?: string;
  secrets?: string;
  /** Boot through U-Boot from this A/B system disk (scripts/qemu-run --system-disk; made when missing). */
  systemDisk?: string;
}

export class QemuBoard {
  readonly ns: string;
  readonly key: string;
  readonly startedAt: number;
  readonly #child: ChildProcess;
  #console = '';
  /** Console bytes seen so far (the text itself is kept only in part). */
  #consoleBytes = 0;
  #exited = false;

  private constructor(ns: string, key: string, child: ChildProcess) {
    this.ns = ns;
    this.key = key;
    this.#child = child;
    this.startedAt = Date.now();
    child.on('exit', () => { this.#exited = true; });
    const keep = (d: Buffer): void => {
      this.#consoleBytes += d.length;
      this.#console = (this.#console + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** Boots the image in `ns` and waits for SITELINK-BOOT-DONE; throws with the console tail. */
  static async boot(ns: string, files: BoardFiles, timeoutMs = 300_000): Promise<QemuBoard> {
    const args = ['netns', 'exec', ns, 'bash', path.join(repoRoot, 'scripts', 'qemu-run'), '--board', BOARD,
      '--config', files.config, '--authorized-keys', `${files.key}.pub`, '--listen', '0.0.0.0',
      '--ssh-port', '2222', '--ike-port', '4502', '--natt-port', '4501'];
    if (files.sitelinkConf) args.push('--sitelink-conf', files.sitelinkConf);
    if (files.secrets) args.push('--secrets', files.secrets);
    if (files.systemDisk) args.push('--system-disk', files.systemDisk);
    const child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const b = new QemuBoard(ns, files.key, child);
    try {
      if (!child.stdout) throw new Error('no stdout');
      await waitForLine(child.stdout, /SITELINK-BOOT-DONE/, timeoutMs);
    } catch (e) {
      const tail = b.console().slice(-3000);
      await b.stop();
      throw new Error(`board did not boot: ${(e as Error).message.split('\n')[0]}\n${tail}`);
    }
    return b;
  }

  console(): string {
    return this.#console;
  }

  /** A position in the console output, for waitForConsole. */
  consoleMark(): number {
    return this.#consoleBytes;
  }

  /** Waits for `re` in the console output written after `mark` (e.g. the next boot's marker after a reboot). */
  async waitForConsole(re: RegExp, mark: number, timeoutMs: number): Promise<boolean> {
    const since = (): string => this.#console.slice(-Math.min(this.#console.length, Math.max(0, this.#consoleBytes - mark)));
    return waitUntil(() => re.test(since()) || this.#exited, timeoutMs, 500).then(() => re.test(since()));
  }

  /** Runs a shell command on the board over SSH. */
  ssh(cmd: string, timeoutMs = 60_000): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.ns, 'ssh', '-p', '2222', '-i', this.key, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20',
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', 'root@127.0.0.1', cmd], { timeoutMs });
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    this.#child.kill('SIGTERM');
    await waitUntil(() => this.#exited, 5000, 100);
    if (!this.#exited) {
      this.#child.kill('SIGKILL');
      await waitUntil(() => this.#exited, 2000, 100);
    }
  }
}
