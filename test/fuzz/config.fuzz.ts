// The configuration parser and validator (sitelink.conf, secrets.conf): text
// from a file an operator (or a tool) wrote. Input: first byte even =
// sitelink.conf through loadConfigText (without reading a secrets file),
// odd = secrets.conf through parseSecrets.
// Properties: never throws; every error names the file, a line inside the
// text (0 only for whole-file errors) and a field; secrets never appear in
// error messages.
import { loadConfigText } from '../../firmware/src/config/load.ts';
import { parseSecrets } from '../../firmware/src/config/secrets.ts';
import type { ConfigError } from '../../firmware/src/config/types.ts';
import { check } from './lib/check.ts';

const FILE = '/etc/sitelink/fuzz.conf';

function checkErrors(errors: readonly ConfigError[], lines: number): void {
  for (const e of errors) {
    check(e.file === FILE, `error for file ${e.file}`);
    check(Number.isInteger(e.line) && e.line >= 0 && e.line <= lines, `error line ${e.line} outside 0..${lines}`);
    check(typeof e.field === 'string' && e.field.length > 0 && e.message.length > 0, 'error without field or message');
  }
}

export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const text = data.subarray(1).toString('utf8');
  const lines = text.split(/\r?\n/).length;
  if ((data[0]! & 1) === 0) {
    const r = loadConfigText(FILE, text, { secrets: false });
    if (!r.ok) checkErrors(r.errors, lines);
    return;
  }
  const r = parseSecrets(FILE, text);
  if (!r.ok) {
    checkErrors(r.errors, lines);
    // Values after "=" may be keys: none may be quoted back.
    for (const m of text.matchAll(/=\s*"?([^"\s#]{12,})/g))
      for (const e of r.errors) check(!e.message.includes(m[1]!), 'a secret value in an error message');
    return;
  }
  for (const s of r.secrets.values()) s.wipe();
}
