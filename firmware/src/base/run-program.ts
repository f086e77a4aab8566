/**
 * Runs a short-lived program (nft, sh, ip) with its input from a file and its
 * error output into one, instead of pipes.
 *
 * Why files: each pipe Node gives a child is a net.Socket with its stream
 * machinery, built on the daemon's main thread; in a board profile of sitelinkd's
 * start the pipes of `nft` and the policy-routing `sh` cost about as much as the
 * forks themselves (~0.25 s under emulation, on the way to the first tunnel,
 * issue 14). A file descriptor goes to the child as it is. The files are made in
 * the temporary directory with O_EXCL, mode 0600, and unlinked at once: only the
 * open descriptors remain, and nothing is left behind whatever happens next.
 *
 * The error output kept is bounded (`maxStderr`, the first bytes: a program's
 * first complaint is the one that says why), and a program that does not end in
 * `timeoutMs` is killed.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RunOptions {
  /** Written to the program's standard input; none: /dev/null. */
  stdin?: string;
  timeoutMs: number;
  /** Bytes of standard error kept (default 16 KiB). */
  maxStderr?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Killed at `timeoutMs`. */
  timedOut: boolean;
  /** Its first `maxStderr` bytes, as text. */
  stderr: string;
}

let serial = 0;

/** An unlinked file of our own, open for reading and writing. */
function anonymousFile(): number {
  for (;;) {
    const name = path.join(tmpdir(), `sitelink-run-${process.pid}-${++serial}`);
    try {
      const fd = openSync(name, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
      unlinkSync(name);
      return fd;
    } catch (e) {
      // A name left by another process with our pid (pid reuse): the next one.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

function writeAll(fd: number, text: string): void {
  const b = Buffer.from(text);
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off, off);
}

function readHead(fd: number, max: number): string {
  const size = Math.min(fstatSync(fd).size, max);
  const b = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    const n = readSync(fd, b, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  return b.subarray(0, got).toString();
}

/** Why a run failed, for an error message: its error output, else how it ended. */
export function failureText(r: RunResult, timeoutMs: number): string {
  return r.stderr.trim() || (r.timedOut ? `killed after ${timeoutMs / 1000} s` : `exited ${r.code ?? r.signal}`);
}

/** Resolves with how the program ended; rejects only when it could not be started. */
export function runProgram(cmd: string, args: readonly string[], o: RunOptions): Promise<RunResult> {
  const fds: number[] = [];
  const closeAll = (): void => {
    for (const fd of fds.splice(0)) closeSync(fd);
  };
  let input: number | 'ignore' = 'ignore';
  let errFd: number;
  try {
    if (o.stdin !== undefined) {
      input = anonymousFile();
      fds.push(input);
      writeAll(input, o.stdin);
    }
    errFd = anonymousFile();
    fds.push(errFd);
  } catch (e) {
    closeAll();
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  return new Promise((resolve, reject) => {
    // Every write above was positional (pwrite): the descriptor's offset is still 0,
    // so the child, which shares it, reads the input from its start.
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd, args, { stdio: [input, 'ignore', errFd] });
    } catch (e) {
      // Refused before a process existed (bad arguments): no event will close the files.
      closeAll();
      reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.once('error', (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      closeAll();
      reject(e);
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      let stderr = '';
      try {
        stderr = readHead(errFd, o.maxStderr ?? 16 * 1024);
      } catch {
        // Its error output is lost; how it ended is still known.
      } finally {
        closeAll();
      }
      resolve({ code, signal, timedOut, stderr });
    });
  });
}
