// CRLs for certificate checking (peers.NAME.crl): files and distribution points
// fetched over HTTP, kept in memory between fetches. The exchanges verify
// certificates synchronously (ike/crypto/x509-verify.ts), so fetching happens
// here, off their path: at start (awaited, bounded by the timeout), then from the
// daemon's tick whenever a source is due: its refresh interval passed, or the
// CRL's nextUpdate (RFC 5280 §5.1.2.5). A failed fetch keeps the last good copy
// (level 1 then still sees revocations it knew of; level 2 refuses once that copy
// is no longer current) and is retried after a minute. Bounded: one fetch per
// source at a time, at most CRL_MAX_CONCURRENT at once, at most CRL_MAX_BYTES each,
// a timeout on the whole request.
//
// Sources are the configured ones (the `crl` option, and the cRLDistributionPoints
// of our own and the CA certificates, fetched before the first negotiation) and the
// distribution points of certificates peers send, learnt when a check asks for them
// (fetched at once, in the background: that check sees what is cached, the next
// one the fetched CRL). A peer chooses those URLs, so at most CRL_MAX_DISCOVERED
// are kept, the least recently used giving way.

import { readFileAsync } from '../base/fs-async.ts';
import { parseCrl } from '../ike/crypto/crl.ts';
import type { CrlLookup } from '../ike/crypto/x509-verify.ts';
import type { LogEvent } from '../log/negotiation-log.ts';

/** Larger than any CRL a site-to-site CA issues; bounds memory per source. */
export const CRL_MAX_BYTES = 4 * 1024 * 1024;
/** A failed fetch or read is tried again after this long. */
export const CRL_RETRY_MS = 60_000;
/** Distribution points learnt from peers' certificates that are kept (and refreshed). */
export const CRL_MAX_DISCOVERED = 16;
/** Fetches running at once, over all sources. */
export const CRL_MAX_CONCURRENT = 4;

export interface CrlStoreOptions {
  now(): number;
  log(e: LogEvent): void;
  /** Whole-request timeout of an HTTP fetch. */
  timeoutMs: number;
  /** Fetch or re-read every source at least this often. */
  refreshMs: number;
  /** Injected for tests; default: HTTP(S) GET / file read. */
  load?: (source: string, timeoutMs: number) => Promise<Buffer>;
}

interface Entry {
  data: Buffer | null;
  /** When the source is next due (ms on the store's clock). */
  dueAt: number;
  inFlight: boolean;
  /** Last error, logged once per change. */
  error: string | null;
  fetches: number;
}

const newEntry = (): Entry => ({ data: null, dueAt: -Infinity, inFlight: false, error: null, fetches: 0 });

export const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

export class CrlStore {
  readonly #o: CrlStoreOptions;
  #entries = new Map<string, Entry>();
  /** Learnt from peers' certificates, least recently used first. */
  readonly #discovered = new Map<string, Entry>();
  #inFlight = 0;

  constructor(o: CrlStoreOptions) {
    this.#o = o;
  }

  /** The sources of the running config; cached copies of sources still listed are kept. */
  configure(sources: Iterable<string>): void {
    const next = new Map<string, Entry>();
    for (const s of sources) {
      next.set(s, this.#entries.get(s) ?? this.#discovered.get(s) ?? newEntry());
      this.#discovered.delete(s);
    }
    this.#entries = next;
  }

  /**
   * The current copies of these sources and distribution points (what a certificate
   * check uses now). A distribution point not known yet is learnt and fetched in the
   * background (bounded, see above) and is `pending` until that first fetch ends.
   */
  crls(sources: readonly string[], distributionPoints: readonly string[] = []): CrlLookup {
    const out: Buffer[] = [];
    const pending: string[] = [];
    for (const s of sources) {
      const d = this.#entries.get(s)?.data;
      if (d) out.push(d);
    }
    let learnt = false;
    for (const url of distributionPoints) {
      if (!isUrl(url)) continue;
      let e = this.#entries.get(url);
      if (!e) {
        e = this.#discovered.get(url);
        if (e) this.#discovered.delete(url);
        else {
          e = newEntry();
          learnt = true;
          this.#evictDiscovered();
        }
        this.#discovered.set(url, e);
      }
      if (e.data) out.push(e.data);
      else if (e.fetches === 0 && e.error === null) pending.push(url);
    }
    if (learnt) void this.refreshDue();
    return { crls: out, pending };
  }

  #evictDiscovered(): void {
    for (const [url, e] of this.#discovered) {
      if (this.#discovered.size < CRL_MAX_DISCOVERED) return;
      if (!e.inFlight) this.#discovered.delete(url);
    }
  }

  /** How often a source was fetched or read successfully (status, tests). */
  fetches(source: string): number {
    return (this.#entries.get(source) ?? this.#discovered.get(source))?.fetches ?? 0;
  }

  /** Fetch every source that is due, at most CRL_MAX_CONCURRENT at once over all
   * callers (workers take the next one as one ends); resolves when those ended. */
  async refreshDue(): Promise<void> {
    const now = this.#o.now();
    const due = [...this.#entries, ...this.#discovered].filter(([, e]) => !e.inFlight && now >= e.dueAt);
    const worker = async (): Promise<void> => {
      for (let next = due.shift(); next; next = due.shift()) if (!next[1].inFlight) await this.#refresh(next[0], next[1]);
    };
    const workers = Math.min(due.length, Math.max(0, CRL_MAX_CONCURRENT - this.#inFlight));
    await Promise.all(Array.from({ length: workers }, worker));
  }

  async #refresh(source: string, e: Entry): Promise<void> {
    e.inFlight = true;
    this.#inFlight++;
    try {
      const data = await (this.#o.load ?? loadSource)(source, this.#o.timeoutMs);
      // Only a CRL that parses replaces the last good copy; its signature is checked
      // against the issuer at verification time.
      const crl = parseCrl(data);
      const now = this.#o.now();
      e.data = data;
      e.fetches++;
      // nextUpdate is wall-clock time; one in the past means the CA is late: retry schedule.
      const untilNext = crl.nextUpdate ? crl.nextUpdate.getTime() - Date.now() : Infinity;
      e.dueAt = now + (untilNext <= 0 ? CRL_RETRY_MS : Math.max(1000, Math.min(this.#o.refreshMs, untilNext)));
      if (e.error !== null) this.#o.log({ level: 'info', phase: 'config', step: 'CRL', message: `CRL ${source}: loaded again` });
      e.error = null;
    } catch (err) {
      e.dueAt = this.#o.now() + CRL_RETRY_MS;
      const msg = err instanceof Error ? err.message : String(err);
      if (msg !== e.error) {
        this.#o.log({
          level: 'warning',
          phase: 'config',
          step: 'CRL',
          message: `CRL ${source}: ${msg}${e.data ? '; keeping the copy from before' : ''}; retrying every ${CRL_RETRY_MS / 1000}s`,
        });
      }
      e.error = msg;
    } finally {
      e.inFlight = false;
      this.#inFlight--;
    }
  }
}

/** A file (read whole, bounded) or an HTTP(S) URL (GET, 200 only, bounded, timed out). */
export async function loadSource(source: string, timeoutMs: number): Promise<Buffer> {
  if (!isUrl(source)) {
    const data = await readFileAsync(source);
    if (data.length > CRL_MAX_BYTES) throw new Error(`larger than ${CRL_MAX_BYTES} bytes`);
    return data;
  }
  // http/https (and tls) are loaded on the first URL fetch: a gateway without CRL URLs
  // never needs them, and loading them costs RSS (issue 10).
  const { get } = source.toLowerCase().startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise<Buffer>((resolve, reject) => {
    const req = get(source, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/pkix-crl' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`HTTP ${res.statusCode ?? '?'}`));
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > CRL_MAX_BYTES) req.destroy(new Error(`larger than ${CRL_MAX_BYTES} bytes`));
        else parts.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(parts)));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(e.name === 'AbortError' || e.name === 'TimeoutError' ? new Error(`no answer within ${timeoutMs} ms`) : e));
  });
}
