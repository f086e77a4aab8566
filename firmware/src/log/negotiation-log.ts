/**
 * The negotiation log: one JSON object per line for every main mode and quick mode
 * step, written to a file (the previous run's log is kept as `<file>.sav`), copied to
 * syslog, and kept in a ring buffer for `sitelinkctl log`. Every entry passes the
 * redaction layer (redact.ts) before it is stored anywhere.
 *
 * Nothing the network sends can grow it without bound: lines are rate-limited per
 * kind (rate-limit.ts: repeated drops become one summary line per 10 s), and the file
 * has a size cap: when the next line would pass it, the file becomes `<file>.sav` and a
 * new one starts, so the two together never exceed twice the cap. A failing write
 * (full file system) is counted, never thrown.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { monotonicMs } from '../base/clock.ts';
import { LogLimiter, type DropTag, type LimitSummary } from './rate-limit.ts';
import { redactor as defaultRedactor, type Redactor } from './redact.ts';
import { SyslogSink, type Severity, type SyslogOptions } from './syslog.ts';
import { isoTime } from '../base/iso-time.ts';

export type { DropTag } from './rate-limit.ts';

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
  /** Set on "dropped a datagram" lines: repeated ones are summarised (rate-limit.ts). */
  drop?: DropTag;
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
  /** File size cap in bytes (the `.sav` holds at most as much again); default 1 MiB. */
  maxBytes?: number;
  /** Rate limiter of repeated lines (tests pass their own windows); default rate-limit.ts's. */
  limiter?: LogLimiter<Phase>;
  /** Monotonic milliseconds for the rate limiter's windows. */
  clock?: () => number;
}

/** Default size cap of the log file: a board keeps logs in a small RAM file system. */
export const DEFAULT_LOG_MAX_BYTES = 1024 * 1024;

export interface LogStats {
  /** Lines left out by the rate limiter (each counted in a summary line). */
  suppressed: number;
  /** Bytes written to the file since the start (all parts). */
  bytesWritten: number;
  /** Times the file reached its cap and became `.sav`. */
  rotations: number;
  /** Writes that failed (e.g. file system full); those lines are still in the ring and syslog. */
  writeErrors: number;
  /** Lines syslog did not take because its logger fell behind (syslog.ts). */
  syslogDropped: number;
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2, debug: 3 };

export class NegotiationLog {
  #fd: number | null;
  readonly #file: string | null;
  readonly #syslog: SyslogSink | null;
  readonly #ring: LogEntry[] = [];
  readonly #keep: number;
  readonly #level: Severity;
  readonly #redactor: Redactor;
  readonly #now: () => Date;
  readonly #maxBytes: number;
  readonly #limiter: LogLimiter<Phase>;
  readonly #clock: () => number;
  #size: number;
  #closed = false;
  #flushTimer: NodeJS.Timeout | null = null;
  readonly #stats = { bytesWritten: 0, rotations: 0, writeErrors: 0 };

  private constructor(fd: number | null, syslog: SyslogSink | null, o: NegotiationLogOptions) {
    this.#fd = fd;
    this.#file = o.file;
    this.#size = fd === null ? 0 : fstatSync(fd).size;
    this.#syslog = syslog;
    this.#keep = o.keep ?? 1000;
    this.#level = o.level;
    this.#redactor = o.redactor ?? defaultRedactor;
    this.#now = o.now ?? (() => new Date());
    this.#maxBytes = o.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.#limiter = o.limiter ?? new LogLimiter<Phase>();
    this.#clock = o.clock ?? monotonicMs;
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
    const { admit, summaries } = this.#limiter.admit(ev, this.#clock());
    this.#summaries(summaries);
    if (!admit) {
      this.#armFlush();
      return null;
    }
    return this.#write(ev, level);
  }

  /** Writes the summaries of rate-limit windows that have ended (also run by a timer). */
  flush(all = false): void {
    this.#summaries(this.#limiter.flush(this.#clock(), all));
  }

  /** Syslog held since open (`syslogOptions.hold`): its loggers start now (syslog.ts). */
  releaseSyslog(): void {
    this.#syslog?.release();
  }

  stats(): LogStats {
    return { ...this.#stats, suppressed: this.#limiter.suppressedTotal, syslogDropped: this.#syslog?.dropped ?? 0 };
  }

  #summaries(list: LimitSummary<Phase>[]): void {
    for (const s of list) this.#write({ ...s, data: { ...s.data } }, s.level);
  }

  /** A window with left-out lines gets its summary when it ends, even if no line follows. */
  #armFlush(): void {
    if (this.#flushTimer !== null) return;
    const due = this.#limiter.nextDeadline();
    if (due === null) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      this.flush();
      this.#armFlush();
    }, Math.max(0, due - this.#clock()) + 1);
    this.#flushTimer.unref();
  }

  #write(ev: LogEvent, level: Severity): LogEntry {
    const safe = this.#redactor.redact({ ...ev, level }) as LogEvent & { level: Severity };
    const entry: LogEntry = {
      time: isoTime(this.#now()),
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
    if (this.#fd !== null) this.#append(Buffer.from(`${JSON.stringify(entry)}\n`));
    this.#syslog?.send(level, formatEntry(entry));
    return entry;
  }

  #append(line: Buffer): void {
    if (this.#file === null || this.#closed) return;
    try {
      if (this.#fd === null) {
        // A failed rotation or write left no file open: try again with this line.
        this.#fd = openSync(this.#file, 'a', 0o640);
        this.#size = fstatSync(this.#fd).size;
      }
      if (this.#size > 0 && this.#size + line.length > this.#maxBytes) {
        // Size cap: this part becomes .sav (replacing the previous run's or part's).
        closeSync(this.#fd);
        this.#fd = null;
        renameSync(this.#file, `${this.#file}.sav`);
        this.#fd = openSync(this.#file, 'a', 0o640);
        this.#size = 0;
        this.#stats.rotations++;
      }
      // A line longer than the cap is cut (still one line) rather than overrunning it.
      const out = line.length <= this.#maxBytes ? line : Buffer.concat([line.subarray(0, Math.max(0, this.#maxBytes - 1)), Buffer.from('\n')]);
      writeSync(this.#fd, out);
      this.#size += out.length;
      this.#stats.bytesWritten += out.length;
    } catch {
      this.#stats.writeErrors++;
    }
  }

  /** The last n entries, oldest first. */
  recent(n = 50): LogEntry[] {
    return this.#ring.slice(-n);
  }

  async close(): Promise<void> {
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    this.flush(true);
    this.#closed = true;
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
