/**
 * Rate limiting of log lines, so that nothing the network can trigger grows the log
 * faster than a fixed rate (a spoofed-source MM1 flood at 11,000 datagrams/s used to
 * write one warning line each: 1.5 MB/s).
 *
 * Lines are grouped by a key: a drop (an event with a `drop` tag) by what was dropped,
 * why and the source class ("unconfigured addresses", "peer hq"); any other line by
 * level, peer, phase and step. Per key and window (10 s) the first lines pass in full
 * (5 for drops, 50 for other lines, so that a peer's normal negotiation is never cut);
 * the rest are only counted, and when the window closes one summary line says how many
 * there were:
 *
 *   dropped 12,345 MM1 from unconfigured addresses in the last 10 s (5 logged in full);
 *   first from 203.0.113.7
 *
 * The daemon's counters are kept elsewhere and stay exact; this only decides what is
 * written. Keys are bounded too (maxKeys): beyond it every new key shares one bucket.
 * Pure: the caller passes the clock.
 */
import type { Severity } from './syslog.ts';

/** What a drop event carries besides its message (set by whoever drops the datagram). */
export interface DropTag {
  /** What was dropped, as a plural noun after a count: "MM1", "malformed datagrams". */
  what: string;
  /** Source class: "unconfigured addresses", "peer hq". Never an address (unbounded). */
  source: string;
  /** The datagram's source address, shown for the first one of a window. */
  from: string;
}

/** The subset of a log event the limiter looks at. */
export interface LimitedEvent<P extends string = string> {
  level?: Severity;
  peer?: string;
  phase: P;
  step: string;
  message: string;
  drop?: DropTag;
}

export interface LogLimiterOptions {
  windowMs?: number;
  /** Drop events logged in full per key and window. */
  dropBurst?: number;
  /** Other events logged in full per key and window. */
  burst?: number;
  /** Distinct keys tracked; events of further keys share one overflow bucket. */
  maxKeys?: number;
}

/** A summary to log when a window with suppressed lines closes. */
export interface LimitSummary<P extends string = string> {
  level: Severity;
  peer?: string;
  phase: P;
  step: string;
  message: string;
  data: { total: number; suppressed: number; seconds: number; first?: string };
}

interface Bucket<P extends string> {
  start: number;
  total: number;
  suppressed: number;
  /** The window's first event (shown by the summary). */
  first: LimitedEvent<P>;
}

const OVERFLOW_KEY = '\u0000overflow';

export const LOG_WINDOW_MS = 10_000;
export const DROP_BURST = 5;
export const LINE_BURST = 50;

export class LogLimiter<P extends string = string> {
  readonly #buckets = new Map<string, Bucket<P>>();
  readonly #windowMs: number;
  readonly #dropBurst: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  #suppressedTotal = 0;
  /** No window ends before this: flush() is O(1) until then (admit runs per datagram). */
  #due = Infinity;

  constructor(o: LogLimiterOptions = {}) {
    this.#windowMs = o.windowMs ?? LOG_WINDOW_MS;
    this.#dropBurst = o.dropBurst ?? DROP_BURST;
    this.#burst = o.burst ?? LINE_BURST;
    this.#maxKeys = o.maxKeys ?? 1024;
  }

  /** Lines not written since the start (every one of them is in some summary). */
  get suppressedTotal(): number {
    return this.#suppressedTotal;
  }

  /** Whether to write `ev` in full now. Windows that ended are closed by flush() first. */
  admit(ev: LimitedEvent<P>, now: number): { admit: boolean; summaries: LimitSummary<P>[] } {
    const summaries = this.flush(now);
    let key = keyOf(ev);
    let b = this.#buckets.get(key);
    if (b === undefined && this.#buckets.size >= this.#maxKeys) {
      key = OVERFLOW_KEY;
      b = this.#buckets.get(key);
    }
    if (b === undefined) {
      b = { start: now, total: 0, suppressed: 0, first: ev };
      this.#buckets.set(key, b);
      this.#due = Math.min(this.#due, now + this.#windowMs);
    }
    b.total++;
    const burst = key === OVERFLOW_KEY ? this.#dropBurst : ev.drop !== undefined ? this.#dropBurst : this.#burst;
    if (b.total <= burst) return { admit: true, summaries };
    b.suppressed++;
    this.#suppressedTotal++;
    return { admit: false, summaries };
  }

  /** Closes the windows that ended by `now` (all of them with `all`), returning their summaries. */
  flush(now: number, all = false): LimitSummary<P>[] {
    const out: LimitSummary<P>[] = [];
    if (!all && now < this.#due) return out;
    this.#due = Infinity;
    for (const [key, b] of this.#buckets) {
      if (!all && now - b.start < this.#windowMs) {
        this.#due = Math.min(this.#due, b.start + this.#windowMs);
        continue;
      }
      this.#buckets.delete(key);
      if (b.suppressed > 0) out.push(summaryOf(key, b, Math.max(1, Math.round((now - b.start) / 1000))));
    }
    return out;
  }

  /** When the earliest window with suppressed lines ends (null: none), for a flush timer. */
  nextDeadline(): number | null {
    let t: number | null = null;
    for (const b of this.#buckets.values()) {
      if (b.suppressed > 0 && (t === null || b.start + this.#windowMs < t)) t = b.start + this.#windowMs;
    }
    return t;
  }
}

function keyOf(ev: LimitedEvent<string>): string {
  if (ev.drop !== undefined) return `drop\u0000${ev.level ?? 'info'}\u0000${ev.phase}\u0000${ev.drop.what}\u0000${ev.drop.source}`;
  return `line\u0000${ev.level ?? 'info'}\u0000${ev.peer ?? ''}\u0000${ev.phase}\u0000${ev.step}`;
}

/** 12345 -> "12,345". Not toLocaleString: its first call loads ICU's number
 * formatting data, ~7 MB of RSS on a board that has only flood warnings to format (issue 10). */
export function count(n: number): string {
  const s = String(Math.trunc(Math.abs(n)));
  const grouped = s.replace(/\B(?=(\d{3})+$)/g, ',');
  return n < 0 ? `-${grouped}` : grouped;
}

function summaryOf<P extends string>(key: string, b: Bucket<P>, seconds: number): LimitSummary<P> {
  const f = b.first;
  const shown = b.total - b.suppressed;
  const base = { level: f.level ?? 'info', ...(f.peer !== undefined ? { peer: f.peer } : {}), phase: f.phase, step: f.step };
  if (key === OVERFLOW_KEY) {
    return {
      ...base,
      message:
        `${count(b.total)} log lines of too many kinds in the last ${seconds} s ` +
        `(${shown} logged in full, ${count(b.suppressed)} left out); the first: ${f.message}`,
      data: { total: b.total, suppressed: b.suppressed, seconds },
    };
  }
  if (f.drop !== undefined) {
    return {
      ...base,
      message:
        `dropped ${count(b.total)} ${f.drop.what} from ${f.drop.source} in the last ${seconds} s ` +
        `(${shown} logged in full); first from ${f.drop.from}`,
      data: { total: b.total, suppressed: b.suppressed, seconds, first: f.drop.from },
    };
  }
  return {
    ...base,
    message:
      `${count(b.total)} "${f.phase} ${f.step}" lines in the last ${seconds} s, ` +
      `${count(b.suppressed)} left out (rate limit); the first: ${f.message}`,
    data: { total: b.total, suppressed: b.suppressed, seconds },
  };
}
