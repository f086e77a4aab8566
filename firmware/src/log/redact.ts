/**
 * Redaction layer: everything that leaves the daemon as text (negotiation log, syslog,
 * control socket replies) passes through here, so keys and PSKs cannot leak even when
 * a caller logs the wrong object.
 *
 * Three nets: (1) Secret objects print "<redacted>"; (2) fields whose names denote key
 * material are replaced whatever their value; (3) every registered secret's text (UTF-8,
 * hex, base64) is cut out of any string, which catches secrets pasted into messages.
 * Raw binary (Buffer/Uint8Array) is never rendered: only its length.
 */
import { Secret } from '../base/secret.ts';
import { isoTime } from '../base/iso-time.ts';

export const REDACTED = '<redacted>';

/** Field names that carry key material (IKE: SKEYID*, KEYMAT, nonces, DH private values). */
const SENSITIVE_KEY = /^(psk|secret|secrets|password|passphrase|private.?key|key|keys|skeyid.*|keymat|enc.?key|auth.?key|integ.?key|shared.?secret|dh.?(private|secret|shared)|g.?xy|nonce.?[ir]?|n[ir]|salt)$/i;

/** Scanning for secrets shorter than this would shred ordinary text; they are still
 *  covered by nets (1) and (2). */
const MIN_SCAN_LENGTH = 4;

export class Redactor {
  readonly #secrets = new Set<Secret>();
  /** The needles of #secrets, made again only when a secret is added or found wiped:
   *  every log line is redacted, and a hub holds a PSK per peer (4 encodings each). The
   *  strings copy secret text, as the per-line ones did; they go with the secret. */
  #cache: string[] | null = null;

  add(secret: Secret): void {
    this.#secrets.add(secret);
    this.#cache = null;
  }

  #needles(): string[] {
    for (const s of this.#secrets) {
      if (!s.wiped) continue;
      this.#secrets.delete(s);
      this.#cache = null;
    }
    if (this.#cache !== null) return this.#cache;
    const out: string[] = [];
    for (const s of this.#secrets) {
      const b = s.reveal();
      if (b.length < MIN_SCAN_LENGTH) continue;
      const hex = b.toString('hex');
      out.push(b.toString('utf8'), hex, hex.toUpperCase(), b.toString('base64'));
    }
    // Longest first so a secret inside another is cut whole.
    this.#cache = out.filter((x) => x.length >= MIN_SCAN_LENGTH).sort((a, b) => b.length - a.length);
    return this.#cache;
  }

  redactString(s: string): string {
    return scrub(s, this.#needles());
  }

  /**
   * Deep copy of `v` safe to print or serialise. bigint becomes a decimal string. An
   * object reached again through one of its own descendants (a true cycle) becomes
   * "<cycle>"; one merely shared (the same array under two keys, a DAG) is copied at
   * each place, as JSON.stringify would. Copies are bounded (MAX_NODES): a DAG that
   * unfolds into more ends in "<truncated>".
   */
  redact(v: unknown): unknown {
    return this.#walk(v, { path: new Set<object>(), needles: this.#needles(), budget: MAX_NODES });
  }

  /** `w.path`: the objects from the root down to `v` (its ancestors), not all seen so far. */
  #walk(v: unknown, w: Walk): unknown {
    if (v instanceof Secret) return REDACTED;
    if (typeof v === 'string') return scrub(v, w.needles);
    if (typeof v === 'bigint') return v.toString();
    if (v === null || typeof v !== 'object') return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
    if (v instanceof Uint8Array) return `<${v.length} bytes>`;
    if (v instanceof Date) return isoTime(v);
    if (w.path.has(v)) return CYCLE;
    if (--w.budget < 0) return TRUNCATED;
    w.path.add(v);
    try {
      return this.#copy(v, w);
    } finally {
      w.path.delete(v);
    }
  }

  #copy(v: object, w: Walk): unknown {
    if (Array.isArray(v)) return v.map((x) => this.#walk(x, w));
    // The Map itself is on the path; the plain object made of its entries is new.
    if (v instanceof Map) return this.#copy(Object.fromEntries(v), w);
    if (v instanceof Error) return { error: this.#walk(v.message, w) };
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = SENSITIVE_KEY.test(k) && x !== null && x !== undefined && x !== false ? REDACTED : this.#walk(x, w);
    }
    return out;
  }
}

interface Walk {
  path: Set<object>;
  needles: string[];
  /** Objects still allowed to be copied. */
  budget: number;
}

export const CYCLE = '<cycle>';
export const TRUNCATED = '<truncated>';
/** Far beyond any record or log event; bounds what a pathological DAG costs. */
export const MAX_NODES = 100_000;

function scrub(s: string, needles: string[]): string {
  let out = s;
  for (const n of needles) if (out.includes(n)) out = out.split(n).join(REDACTED);
  return out;
}

/** Process-wide redactor; the secrets loader registers every PSK it reads. */
export const redactor = new Redactor();
