/**
 * Parser for sitelink's nested block syntax (swanctl-like), syntax only: no schema.
 *
 *   # comment to end of line
 *   section {
 *     key = value
 *     list = a, b, c
 *     quoted = "with spaces # not a comment"
 *     nested { key = value }
 *   }
 *
 * A value runs to the end of the line (or to a `}` on the same line). Collects every
 * syntax error instead of stopping at the first one.
 */

export interface ConfValue {
  type: 'value';
  key: string;
  /** The raw text after `=`, trimmed, quotes removed when the whole value was quoted. */
  value: string;
  /** Comma-separated items, each trimmed and unquoted. */
  items: string[];
  line: number;
}

export interface ConfSection {
  type: 'section';
  name: string;
  entries: ConfEntry[];
  line: number;
}

export type ConfEntry = ConfValue | ConfSection;

export interface SyntaxError {
  line: number;
  message: string;
}

export interface ParseResult {
  root: ConfSection;
  errors: SyntaxError[];
}

const NAME = /^[A-Za-z0-9_.@:%\/-]+$/;

/** Past this many syntax errors the file is not a sitelink config at all: stop there
 * (a binary or random file would otherwise yield one error per token, without bound). */
export const MAX_SYNTAX_ERRORS = 50;
/** Deepest section nesting (the schema needs 4: peers { x { tunnels { y { } } } }). */
export const MAX_DEPTH = 16;

/** Splits a value at top-level commas, honouring double quotes. */
function splitItems(raw: string): string[] {
  const items: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of raw) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      items.push(cur.trim());
      cur = '';
      continue;
    }
    cur += ch;
  }
  items.push(cur.trim());
  return items.filter((s) => s !== '').map(unquote);
}

function unquote(s: string): string {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) {
    return s.slice(1, -1).replace(/\\(["\\])/g, '$1');
  }
  return s;
}

/** Removes a trailing comment (`#` outside quotes); reports an unterminated quote. */
function stripComment(line: string): { text: string; unterminated: boolean } {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '\\' && quoted) {
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    else if (ch === '#' && !quoted) return { text: line.slice(0, i), unterminated: false };
  }
  return { text: line, unterminated: quoted };
}

/** Index of the first `{`, `}` or `=` outside quotes, or -1. */
function findSyntax(s: string, chars: string): number {
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\' && quoted) {
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch !== undefined && chars.includes(ch)) return i;
  }
  return -1;
}

export function parseConf(text: string): ParseResult {
  const root: ConfSection = { type: 'section', name: '', entries: [], line: 0 };
  const stack: ConfSection[] = [root];
  const errors: SyntaxError[] = [];
  const lines = text.split(/\r?\n/);

  for (let idx = 0; idx < lines.length && errors.length < MAX_SYNTAX_ERRORS; idx++) {
    parseLine(lines[idx] ?? '', idx + 1);
  }
  if (errors.length >= MAX_SYNTAX_ERRORS) {
    errors.push({
      line: errors[errors.length - 1]?.line ?? 0,
      message: `${MAX_SYNTAX_ERRORS} syntax errors: not reading further (is this a sitelink configuration file?)`,
    });
    return { root, errors };
  }

  function parseLine(rawLine: string, lineNo: number): void {
    const { text: noComment, unterminated } = stripComment(rawLine);
    if (unterminated) {
      errors.push({ line: lineNo, message: 'unterminated quoted string' });
      return;
    }
    let rest = noComment.trim();
    // A line may hold several tokens: `name {`, `key = value }`, `}` `}` ...
    while (rest !== '' && errors.length < MAX_SYNTAX_ERRORS) {
      const current = stack[stack.length - 1] ?? root;
      if (rest.startsWith('}')) {
        if (stack.length <= 1) errors.push({ line: lineNo, message: 'unexpected "}" (no open section)' });
        else stack.pop();
        rest = rest.slice(1).trim();
        continue;
      }
      const at = findSyntax(rest, '{}=');
      if (at < 0) {
        errors.push({ line: lineNo, message: `expected "key = value" or "name {", got "${rest}"` });
        return;
      }
      const head = rest.slice(0, at).trim();
      const sym = rest[at];
      if (sym === '{') {
        if (!NAME.test(head)) {
          errors.push({ line: lineNo, message: `invalid section name "${head}"` });
        }
        if (stack.length > MAX_DEPTH) {
          errors.push({ line: lineNo, message: `sections nested deeper than ${MAX_DEPTH} levels` });
          return;
        }
        const section: ConfSection = { type: 'section', name: head, entries: [], line: lineNo };
        // An invalid name was reported above; the section is still parsed (its braces must
        // match) but kept out of the tree, so the checks after parsing never name it (a "" field).
        if (NAME.test(head)) current.entries.push(section);
        stack.push(section);
        rest = rest.slice(at + 1).trim();
        continue;
      }
      if (sym === '=') {
        if (!NAME.test(head)) {
          errors.push({ line: lineNo, message: `invalid key "${head}"` });
          return;
        }
        let valueText = rest.slice(at + 1);
        const close = findSyntax(valueText, '}');
        let after = '';
        if (close >= 0) {
          after = valueText.slice(close);
          valueText = valueText.slice(0, close);
        }
        const raw = valueText.trim();
        current.entries.push({ type: 'value', key: head, value: unquote(raw), items: splitItems(raw), line: lineNo });
        rest = after.trim();
        continue;
      }
      errors.push({ line: lineNo, message: `unexpected "}" after "${head}"` });
      return;
    }
  }
  for (let i = stack.length - 1; i >= 1; i--) {
    const s = stack[i];
    if (s) errors.push({ line: s.line, message: `section "${s.name}" is never closed (missing "}")` });
  }
  return { root, errors };
}
