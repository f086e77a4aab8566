/**
 * Runs `ip` commands in batches: commands issued while a batch is running (or in
 * the same event-loop turn) go to the next `ip -force -batch -` process together,
 * each command's promise settled from that process's stderr. A hub bringing up
 * 1,000 tunnels spawned 1,000 `ip route` processes, each spawn blocking the main
 * thread for milliseconds (19 s in all in the bench:ike profile); now a burst costs
 * a few spawns.
 *
 * iproute2 with -force runs every line and reports each failure as its error text
 * followed by "Command failed -:N" (N = line number). The board's busybox `ip` has
 * no -batch: a probe (an empty batch) decides once (not needed when `ip` is a
 * busybox applet), and without batch support every command runs in its own process
 * as before.
 */
import { spawn } from 'node:child_process';
import { isBusyboxApplet } from '../base/busybox-applet.ts';
import { failureText, runProgram } from '../base/run-program.ts';

/** One command: `args` as in a batch line (no global options), `options` the global ones (e.g. -6) for a single run. */
export interface IpCommand {
  args: readonly string[];
  options?: readonly string[];
}

interface Pending {
  cmd: IpCommand;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Lines per batch process: bounded stderr and a bounded loss if one batch times out. */
export const MAX_BATCH = 512;
const TIMEOUT_MS = 10_000;

const describe = (c: IpCommand): string => `ip ${[...(c.options ?? []), ...c.args].join(' ')}`;

/** The errors of a `-force -batch` run's stderr, by 1-based line number. */
export function batchErrors(stderr: string): Map<number, string> {
  const errors = new Map<number, string>();
  let text: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)$/.exec(line.trim());
    if (m) {
      errors.set(Number(m[1]), text.join(' ').trim());
      text = [];
    } else if (line.trim() !== '') text.push(line.trim());
  }
  return errors;
}

export class IpBatch {
  readonly #ip: string;
  #queue: Pending[] = [];
  #running = false;
  #scheduled = false;
  #batch: Promise<boolean> | undefined;
  /** Processes started (for the benchmark and tests). */
  spawned = 0;

  constructor(ip = 'ip') {
    this.#ip = ip;
  }

  run(cmd: IpCommand): Promise<void> {
    // One command per line: an argument with white space would split or add a line.
    const bad = [...cmd.args, ...(cmd.options ?? [])].find((a) => a === '' || /\s/.test(a));
    if (bad !== undefined) return Promise.reject(new Error(`${describe(cmd)}: bad argument ${JSON.stringify(bad)}`));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ cmd, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#running || this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#running || this.#queue.length === 0) return;
    this.#running = true;
    const batch = this.#queue.splice(0, MAX_BATCH);
    try {
      if (await this.#supportsBatch()) await this.#runBatch(batch);
      else for (const p of batch) await this.#runOne(p);
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }

  /** Runs the probe now (once), so that a later first command does not wait for it. */
  probe(): Promise<boolean> {
    return this.#supportsBatch();
  }

  #supportsBatch(): Promise<boolean> {
    // busybox's `ip` (the board's) has no -batch: known without a probe process.
    this.#batch ??= isBusyboxApplet(this.#ip) ? Promise.resolve(false) : new Promise((resolve) => {
      this.spawned++;
      const child = spawn(this.#ip, ['-batch', '-'], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('error', () => resolve(false));
      child.on('close', (code) => resolve(code === 0));
      child.stdin.on('error', () => undefined);
      child.stdin.end();
    });
    return this.#batch;
  }

  async #runOne(p: Pending): Promise<void> {
    this.spawned++;
    // The board's way (no -batch): no pipes to build for each run (base/run-program.ts).
    try {
      const r = await runProgram(this.#ip, [...(p.cmd.options ?? []), ...p.cmd.args], { timeoutMs: TIMEOUT_MS });
      if (r.code === 0) p.resolve();
      else p.reject(new Error(`${describe(p.cmd)}: ${failureText(r, TIMEOUT_MS)}`));
    } catch (e) {
      p.reject(new Error(`${describe(p.cmd)}: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  #runBatch(batch: Pending[]): Promise<void> {
    this.spawned++;
    return new Promise((done) => {
      const child = spawn(this.#ip, ['-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < 1 << 20) stderr += d;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
      let settled = false;
      let exitCode: number | null = null;
      const settle = (failed: string | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        let failure = failed;
        const errors = batchErrors(stderr);
        // A failed run that names no line (ip itself failed): every command failed.
        if (failure === null && exitCode !== 0 && errors.size === 0) failure = stderr.trim() || `ip -batch exited ${exitCode}`;
        batch.forEach((p, i) => {
          const e = failure ?? errors.get(i + 1);
          if (e === undefined) p.resolve();
          else p.reject(new Error(`${describe(p.cmd)}: ${e || 'failed'}`));
        });
        done();
      };
      child.on('error', (e) => settle(e.message));
      child.on('close', (code, signal) => {
        exitCode = code;
        settle(signal ? `ip -batch ended by ${signal}` : null);
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(batch.map((p) => `${p.cmd.args.join(' ')}\n`).join(''));
    });
  }
}
