/**
 * The negotiation log: one JSON object per line for every main mode and quick mode
 * step, written to a file (the previous run's log is kept as `<file>.sav`), copied to
 * syslog, and kept in a ring buffer for `sitelinkctl log`. Every entry passes the
 * redaction layer (redact.ts) before it is stored anywhere.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { redactor as defaultRedactor, type Redactor } from './redact.ts';
import { SyslogSink, type Severity, type SyslogOptions } from './syslog.ts';

export type Phase = 'main' | 'quick' | 'informational' | 'dpd' | 'natt' | 'daemon' | 'config';

/** What callers pass in. */
export interface LogEvent {
  level?: Severity;
  peer?: string;
  phase: Phase;
  /** Short step name, e.g. "MM1", "QM2", "DPD R-U-THERE". */
  step: string;
  direction?: 'in' | 'out';
  message: string;
  /** Structured details (proposal names, SPIs, addresses). Redacted before use. */
  data?: Record<string, unknown>;
}

/** What is stored and served. */
export interface LogEntry {
  time: string;
  level: Severity;
  peer?: string;
  phase: Phase;
  step: string;
  direction?: 'in' | 'out';
  message: string;
  data?: Record<string, unknown>;
}

export interface NegotiationLogOptions {
  /** Log file; null = memory (and syslog) only. */
  file: string | null;
  syslog: boolean;
  level: Severity;
  syslogOptions?: SyslogOptions;
  /** Entries kept for `sitelinkctl log`. */
  keep?: number;
  redactor?: Redactor;
  now?: () => Date;
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2, debug: 3 };

export class NegotiationLog {
  #fd: number | null;
  readonly #syslog: SyslogSink | null;
  readonly #ring: LogEntry[] = [];
  readonly #keep: number;
  readonly #level: Severity;
  readonly #redactor: Redactor;
  readonly #now: () => Date;

  private constructor(fd: number | null, syslog: SyslogSink | null, o: NegotiationLogOptions) {
    this.#fd = fd;
    this.#syslog = syslog;
    this.#keep = o.keep ?? 1000;
    this.#level = o.level;
    this.#redactor = o.redactor ?? defaultRedactor;
    this.#now = o.now ?? (() => new Date());
  }

  /** Opens the log for a daemon run: rotates the previous file to `.sav` first. */
  static open(o: NegotiationLogOptions): NegotiationLog {
    let fd: number | null = null;
    if (o.file !== null) {
      mkdirSync(dirname(o.file), { recursive: true, mode: 0o750 });
      if (existsSync(o.file)) renameSync(o.file, `${o.file}.sav`);
      // 0640: the log names peers and addresses, not for every local user.
      fd = openSync(o.file, 'a', 0o640);
    }
    const syslog = o.syslog ? SyslogSink.open(o.syslogOptions) : null;
    return new NegotiationLog(fd, syslog, o);
  }

  log(ev: LogEvent): LogEntry | null {
    const level = ev.level ?? 'info';
    if (RANK[level] > RANK[this.#level]) return null;
    const safe = this.#redactor.redact({ ...ev, level }) as LogEvent & { level: Severity };
    const entry: LogEntry = {
      time: this.#now().toISOString(),
      level,
      ...(safe.peer !== undefined ? { peer: safe.peer } : {}),
      phase: safe.phase,
      step: safe.step,
      ...(safe.direction !== undefined ? { direction: safe.direction } : {}),
      message: safe.message,
      ...(safe.data !== undefined ? { data: safe.data } : {}),
    };
    this.#ring.push(entry);
    if (this.#ring.length > this.#keep) this.#ring.shift();
    if (this.#fd !== null) writeSync(this.#fd, `${JSON.stringify(entry)}\n`);
    this.#syslog?.send(level, formatEntry(entry));
    return entry;
  }

  /** The last n entries, oldest first. */
  recent(n = 50): LogEntry[] {
    return this.#ring.slice(-n);
  }

  async close(): Promise<void> {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    await this.#syslog?.close();
  }
}

/** One-line human form (syslog and `sitelinkctl log`). */
export function formatEntry(e: LogEntry): string {
  const arrow = e.direction === 'out' ? '->' : e.direction === 'in' ? '<-' : '  ';
  const data = e.data && Object.keys(e.data).length > 0
    ? ' ' + Object.entries(e.data).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
    : '';
  return `${e.peer ?? '-'} ${e.phase} ${e.step} ${arrow} ${e.message}${data}`;
}
