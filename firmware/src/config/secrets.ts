/**
 * The secrets file: PSKs per peer identity, kept apart from sitelink.conf so the main
 * config can be shared, diffed and shown without exposing keys.
 *
 *   psk {
 *     gwB.lab = "a long random passphrase"
 *     198.51.100.2 = 0x6f1c...           # hex
 *     hq = 0sBASE64==                    # base64 (strongSwan's 0s prefix)
 *   }
 *   ppk {                                # IKEv2 post-quantum preshared keys (RFC 8784) by PPK_ID
 *     branch-ppk-1 = 0x9a3e...           # at least 32 bytes (RFC 8784 §6: 256 bits of entropy)
 *   }
 *
 * Refused unless it is a regular file with mode 0600 (no group/other bits) owned by root
 * or the current user: a world-readable PSK is a PSK already leaked.
 */
import { statSync, type Stats } from 'node:fs';
import { statAsync } from '../base/fs-async.ts';
import { parseConf } from './parse.ts';
import { readTextFile, readTextFileSync, type TextFile } from './read-file.ts';
import { Secret } from '../base/secret.ts';
import type { ConfigError } from './types.ts';
import { PPK_PREFIX, type SecretsTable } from './validate.ts';
import { redactor } from '../log/redact.ts';

export type SecretsResult = { ok: true; secrets: SecretsTable } | { ok: false; errors: ConfigError[] };

function statError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  return `cannot read the secrets file (${code})${code === 'EACCES' ? '; run as root, or check with --no-secrets' : ''}`;
}

export function checkSecretsFileMode(file: string): string | null {
  try {
    return modeProblem(file, statSync(file));
  } catch (e) {
    return statError(e);
  }
}

function modeProblem(file: string, st: Stats): string | null {
  if (!st.isFile()) return 'the secrets file is not a regular file';
  if ((st.mode & 0o077) !== 0) {
    return `the secrets file has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; expected 0600 (chmod 600 ${file})`;
  }
  const me = typeof process.getuid === 'function' ? process.getuid() : 0;
  if (st.uid !== 0 && st.uid !== me) return `the secrets file is owned by uid ${st.uid}; expected root or uid ${me}`;
  return null;
}

function decodeSecret(s: string): Buffer | null {
  if (/^0x[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) return Buffer.from(s.slice(2), 'hex');
  if (s.startsWith('0s')) {
    const b = Buffer.from(s.slice(2), 'base64');
    return b.length > 0 ? b : null;
  }
  return s.length > 0 ? Buffer.from(s, 'utf8') : null;
}

/** Parses secrets text (no file checks). Error messages never contain secret values. */
export function parseSecrets(file: string, text: string): SecretsResult {
  const { root, errors: syntax } = parseConf(text);
  // Parser messages quote the offending text, which here may be a key: never echo it.
  const errors: ConfigError[] = syntax.map((e) => ({
    file, line: e.line, field: 'syntax', message: 'expected "psk {", "identity = secret" or "}" (line not shown: it may hold a secret)',
  }));
  const secrets: SecretsTable = new Map();
  for (const e of root.entries) {
    if (e.type !== 'section' || (e.name !== 'psk' && e.name !== 'ppk')) {
      errors.push({
        file,
        line: e.line,
        field: e.type === 'section' ? e.name : e.key,
        message: 'unknown entry; expected a "psk { id = secret }" or "ppk { ppk-id = key }" section',
      });
      continue;
    }
    const ppk = e.name === 'ppk';
    for (const v of e.entries) {
      if (v.type !== 'value') {
        errors.push({ file, line: v.line, field: `${e.name}.${v.name}`, message: 'expected "id = secret", got a section' });
        continue;
      }
      // PPKs share the table under their own prefix; a PSK identity cannot take that form.
      const key = ppk ? `${PPK_PREFIX}${v.key}` : v.key;
      if (!ppk && v.key.startsWith(PPK_PREFIX)) {
        const message = `an identity cannot start with "${PPK_PREFIX}"; put PPKs in a ppk section`;
        errors.push({ file, line: v.line, field: `psk.${v.key}`, message });
        continue;
      }
      if (secrets.has(key)) {
        errors.push({ file, line: v.line, field: `${e.name}.${v.key}`, message: 'given twice; give each identity one secret' });
        continue;
      }
      const bytes = decodeSecret(v.value);
      if (!bytes) {
        errors.push({ file, line: v.line, field: `${e.name}.${v.key}`, message: 'expected a non-empty "quoted string", 0x hex or 0s base64 secret' });
        continue;
      }
      // RFC 8784 §6: a PPK must carry at least 256 bits of entropy.
      if (ppk && bytes.length < 32) {
        bytes.fill(0);
        errors.push({ file, line: v.line, field: `ppk.${v.key}`, message: 'expected a PPK of at least 32 bytes (RFC 8784 §6: 256 bits of entropy)' });
        continue;
      }
      const secret = new Secret(bytes);
      // From now on this secret is cut out of every log line and control reply.
      redactor.add(secret);
      secrets.set(key, secret);
      bytes.fill(0);
    }
  }
  if (errors.length > 0) {
    for (const s of secrets.values()) s.wipe();
    return { ok: false, errors };
  }
  return { ok: true, secrets };
}

export function loadSecretsFile(file: string): SecretsResult {
  const modeError = checkSecretsFileMode(file);
  if (modeError) return { ok: false, errors: [{ file, line: 0, field: 'secrets', message: modeError }] };
  return fromRead(file, readTextFileSync(file));
}

/** loadSecretsFile on the thread pool (the control socket's check and reload). */
export async function loadSecretsFileAsync(file: string): Promise<SecretsResult> {
  let modeError: string | null;
  try {
    modeError = modeProblem(file, await statAsync(file));
  } catch (e) {
    modeError = statError(e);
  }
  if (modeError) return { ok: false, errors: [{ file, line: 0, field: 'secrets', message: modeError }] };
  return fromRead(file, await readTextFile(file));
}

function fromRead(file: string, read: TextFile): SecretsResult {
  if (!read.ok)
    return {
      ok: false,
      errors: [
        {
          file,
          line: 0,
          field: 'secrets',
          message: `the secrets file is ${read.message.startsWith('cannot') ? 'unreadable' : read.message}`,
        },
      ],
    };
  return parseSecrets(file, read.text);
}
