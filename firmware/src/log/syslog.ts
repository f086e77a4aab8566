/**
 * Syslog output. Node cannot open the AF_UNIX datagram socket /dev/log itself, so
 * messages go through long-lived `logger` processes that turn each stdin line into one
 * datagram to /dev/log:
 *
 *  - util-linux logger (Debian hosts): one process, RFC 5424 framing (or RFC 3164), and
 *    `--prio-prefix` so every line carries its own <PRI> (RFC 5424 §6.2.1:
 *    facility * 8 + severity);
 *  - BusyBox logger (the firmware image): no per-line priority and RFC 3164 only, so one
 *    process per severity, started on first use (at most four).
 *
 * Syslog is best effort: a missing logger or socket never disturbs the daemon. Lines
 * come already rate-limited (negotiation-log.ts); should a logger still fall behind,
 * at most MAX_PENDING_BYTES wait in its pipe and further lines are counted as dropped
 * instead of queueing in the daemon's memory.
 *
 * `hold`: the loggers are not started until release() (or close()), and the lines
 * wait in memory, at most MAX_HELD_LINES and MAX_PENDING_BYTES (then dropped and
 * counted). sitelinkd holds them through its start: each logger is a fork of the
 * daemon and a pipe, ~0.1 s of its main thread on the board, before the first tunnel.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isBusyboxApplet } from '../base/busybox-applet.ts';

export type Severity = 'error' | 'warning' | 'info' | 'debug';

const SEVERITY: Record<Severity, number> = { error: 3, warning: 4, info: 6, debug: 7 };
const SEVERITY_NAME: Record<Severity, string> = { error: 'err', warning: 'warning', info: 'info', debug: 'debug' };
/** Facility "daemon" (3). */
const FACILITY = 3;

/** Bytes allowed to wait for one logger process before lines are dropped. */
export const MAX_PENDING_BYTES = 64 * 1024;
/** Lines kept while held (option `hold`). */
export const MAX_HELD_LINES = 256;

export function priority(sev: Severity): number {
  return FACILITY * 8 + SEVERITY[sev];
}

export type LoggerFlavour = 'util-linux' | 'busybox';

export interface SyslogOptions {
  socket?: string;
  format?: 'rfc5424' | 'rfc3164';
  tag?: string;
  /** logger binary (tests substitute a recorder). */
  command?: string;
  /** Detected from `logger --version` when absent. */
  flavour?: LoggerFlavour;
  /** Keep lines (bounded) and start no logger until release(). */
  hold?: boolean;
}

export function detectFlavour(command = 'logger'): LoggerFlavour {
  // The board's logger is busybox's: known without starting it (a fork, ~0.1 s there).
  if (isBusyboxApplet(command)) return 'busybox';
  const r = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 2000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.includes('util-linux') ? 'util-linux' : 'busybox';
}

export class SyslogSink {
  readonly #children = new Map<Severity | 'all', ChildProcess>();
  readonly #opts: Required<Omit<SyslogOptions, 'flavour' | 'hold'>> & { flavour: LoggerFlavour };
  #open: boolean;
  #dropped = 0;
  /** Lines waiting for release(); null when not held. */
  #held: Array<[Severity, string]> | null;
  #heldBytes = 0;

  private constructor(open: boolean, opts: Required<Omit<SyslogOptions, 'flavour' | 'hold'>> & { flavour: LoggerFlavour }, hold: boolean) {
    this.#open = open;
    this.#opts = opts;
    this.#held = hold ? [] : null;
  }

  /** Inactive sink when the socket does not exist (containers, this build host). */
  static open(o: SyslogOptions = {}): SyslogSink {
    const socket = o.socket ?? '/dev/log';
    const command = o.command ?? 'logger';
    const opts = {
      socket, command, format: o.format ?? 'rfc5424', tag: o.tag ?? 'sitelink',
      flavour: o.flavour ?? (existsSync(socket) ? detectFlavour(command) : 'busybox'),
    } as const;
    return new SyslogSink(existsSync(socket), opts, o.hold ?? false);
  }

  get active(): boolean {
    return this.#open;
  }

  /** Lines not sent because a logger had MAX_PENDING_BYTES waiting already. */
  get dropped(): number {
    return this.#dropped;
  }

  #write(c: ChildProcess, line: string): void {
    const w = c.stdin;
    if (!w || w.destroyed) return;
    if (w.writableLength + line.length > MAX_PENDING_BYTES) {
      this.#dropped++;
      return;
    }
    w.write(line);
  }

  #child(key: Severity | 'all', args: string[]): ChildProcess {
    let c = this.#children.get(key);
    if (c === undefined) {
      c = spawn(this.#opts.command, args, { stdio: ['pipe', 'ignore', 'ignore'] });
      c.on('error', () => undefined);
      c.stdin?.on('error', () => undefined);
      this.#children.set(key, c);
    }
    return c;
  }

  /** `line` must already be redacted; newlines would split the message, so they go. */
  send(sev: Severity, line: string): void {
    if (!this.#open) return;
    if (this.#held !== null) {
      if (this.#held.length >= MAX_HELD_LINES || this.#heldBytes + line.length > MAX_PENDING_BYTES) this.#dropped++;
      else {
        this.#held.push([sev, line]);
        this.#heldBytes += line.length;
      }
      return;
    }
    const text = line.replace(/[\r\n]+/g, ' ');
    const o = this.#opts;
    if (o.flavour === 'util-linux') {
      const c = this.#child('all', ['--prio-prefix', `--${o.format}`, '-t', o.tag, '-u', o.socket, '--socket-errors=off']);
      this.#write(c, `<${priority(sev)}>${text}\n`);
    } else {
      const c = this.#child(sev, ['-t', o.tag, '-p', `daemon.${SEVERITY_NAME[sev]}`]);
      this.#write(c, `${text}\n`);
    }
  }

  /** Starts the loggers and sends what was held, in order. */
  release(): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    this.#heldBytes = 0;
    for (const [sev, line] of held) this.send(sev, line);
  }

  async close(): Promise<void> {
    this.release();
    this.#open = false;
    const children = [...this.#children.values()];
    this.#children.clear();
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('close', () => resolve());
      c.stdin?.end();
    })));
  }
}
