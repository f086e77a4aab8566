/**
 * Reads one parsed section against a schema: typed getters that record file:line:field
 * errors instead of throwing, duplicate detection, and a final check for unknown keys
 * (a typo such as "proposal" for "proposals" must not be silently ignored).
 */
import type { ConfEntry, ConfSection, ConfValue } from './parse.ts';
import type { ConfigError } from './types.ts';
import type { Parsed } from './values.ts';

export class SectionReader {
  readonly #used = new Set<string>();

  constructor(
    readonly file: string,
    readonly section: ConfSection,
    /** Dotted path of this section, e.g. "peers.hq". */
    readonly path: string,
    readonly errors: ConfigError[],
  ) {
    const seen = new Map<string, number>();
    for (const e of section.entries) {
      const key = entryName(e);
      const first = seen.get(key);
      if (first !== undefined) {
        this.error(e.line, key, `given twice (first at line ${first}); give it once`);
      } else seen.set(key, e.line);
    }
  }

  field(key: string): string {
    if (key === '') return this.path;
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  error(line: number, key: string, message: string): void {
    this.errors.push({ file: this.file, line, field: this.field(key), message });
  }

  /** Whether the section writes `key` at all (does not mark it used). */
  has(key: string): boolean {
    return this.section.entries.some((x) => entryName(x) === key);
  }

  /** The value entry for key (marks it used); reports a section where a value belongs. */
  value(key: string): ConfValue | undefined {
    this.#used.add(key);
    const e = this.section.entries.find((x) => entryName(x) === key);
    if (e === undefined) return undefined;
    if (e.type !== 'value') {
      this.error(e.line, key, `expected "${key} = value", got a section`);
      return undefined;
    }
    return e;
  }

  /** The subsection for key (marks it used). */
  sub(key: string): ConfSection | undefined {
    this.#used.add(key);
    const e = this.section.entries.find((x) => entryName(x) === key);
    if (e === undefined) return undefined;
    if (e.type !== 'section') {
      this.error(e.line, key, `expected a section "${key} { ... }", got a value`);
      return undefined;
    }
    return e;
  }

  /** Every subsection (for named collections such as peers { hq { } branch { } }). */
  namedSections(): ConfSection[] {
    const out: ConfSection[] = [];
    for (const e of this.section.entries) {
      this.#used.add(entryName(e));
      if (e.type === 'section') out.push(e);
      else this.error(e.line, e.key, `expected a named section "${e.key} { ... }" here, got a value`);
    }
    return out;
  }

  /** Optional scalar: default when absent or invalid (invalid is reported). */
  get<T>(key: string, parse: (s: string) => Parsed<T>, dflt: T): T {
    const v = this.value(key);
    if (v === undefined) return dflt;
    const r = parse(v.value);
    if (!r.ok) {
      this.error(v.line, key, `expected ${r.expected}`);
      return dflt;
    }
    return r.value;
  }

  /** Required scalar: undefined (and an error) when absent or invalid. */
  need<T>(key: string, parse: (s: string) => Parsed<T>, what: string): T | undefined {
    const v = this.value(key);
    if (v === undefined) {
      this.error(this.section.line, key, `missing; expected ${what}`);
      return undefined;
    }
    const r = parse(v.value);
    if (!r.ok) {
      this.error(v.line, key, `expected ${r.expected}`);
      return undefined;
    }
    return r.value;
  }

  /** Comma list; each bad item is reported separately. */
  list<T>(key: string, parse: (s: string) => Parsed<T>, dflt: T[]): T[] {
    const v = this.value(key);
    if (v === undefined) return dflt;
    const out: T[] = [];
    for (const item of v.items) {
      const r = parse(item);
      if (r.ok) out.push(r.value);
      else this.error(v.line, key, `expected ${r.expected}`);
    }
    if (v.items.length === 0) this.error(v.line, key, 'expected at least one item, got an empty list');
    return out;
  }

  line(key: string): number {
    return this.section.entries.find((x) => entryName(x) === key)?.line ?? this.section.line;
  }

  /** Report keys nobody asked for. Call after all getters. */
  finish(): void {
    for (const e of this.section.entries) {
      const key = entryName(e);
      if (!this.#used.has(key)) {
        const known = [...this.#used].sort().join(', ');
        this.error(e.line, key, `unknown ${e.type === 'section' ? 'section' : 'key'}; expected one of: ${known}`);
      }
    }
  }
}

function entryName(e: ConfEntry): string {
  return e.type === 'value' ? e.key : e.name;
}

export const text = (s: string): Parsed<string> =>
  s === '' ? { ok: false, expected: 'a non-empty value' } : { ok: true, value: s };

export const path = (s: string): Parsed<string> =>
  s.startsWith('/') || s.startsWith('.') || /^[\w.-]/.test(s)
    ? { ok: true, value: s }
    : { ok: false, expected: `a file path, got "${s}"` };
