/**
 * Syslog output. Node cannot open the AF_UNIX datagram socket /dev/log itself, so
 * messages go through one long-lived util-linux `logger` process, which frames each
 * line as an RFC 5424 (or RFC 3164) datagram to /dev/log. `--prio-prefix` lets every
 * line carry its own <PRI> (RFC 5424 §6.2.1: facility * 8 + severity).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export type Severity = 'error' | 'warning' | 'info' | 'debug';

const SEVERITY: Record<Severity, number> = { error: 3, warning: 4, info: 6, debug: 7 };
/** Facility "daemon" (3). */
const FACILITY = 3;

export function priority(sev: Severity): number {
  return FACILITY * 8 + SEVERITY[sev];
}

export interface SyslogOptions {
  socket?: string;
  format?: 'rfc5424' | 'rfc3164';
  tag?: string;
}

export class SyslogSink {
  #child: ChildProcess | null;

  private constructor(child: ChildProcess | null) {
    this.#child = child;
  }

  /** Null sink when the socket does not exist (containers, this build host). */
  static open(opts: SyslogOptions = {}): SyslogSink {
    const socket = opts.socket ?? '/dev/log';
    if (!existsSync(socket)) return new SyslogSink(null);
    const args = ['--prio-prefix', `--${opts.format ?? 'rfc5424'}`, '-t', opts.tag ?? 'sitelink', '-u', socket, '--socket-errors=off'];
    const child = spawn('logger', args, { stdio: ['pipe', 'ignore', 'ignore'] });
    // A missing logger binary must not take the daemon down: syslog is best effort.
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    return new SyslogSink(child);
  }

  get active(): boolean {
    return this.#child !== null;
  }

  /** `line` must already be redacted; newlines would split the message, so they go. */
  send(sev: Severity, line: string): void {
    const stdin = this.#child?.stdin;
    if (!stdin || stdin.destroyed) return;
    stdin.write(`<${priority(sev)}>${line.replace(/[\r\n]+/g, ' ')}\n`);
  }

  close(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('close', () => resolve());
      child.stdin?.end();
    });
  }
}
