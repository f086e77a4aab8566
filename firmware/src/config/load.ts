/**
 * Entry point for configuration: read sitelink.conf, parse, load the secrets file it
 * names, validate. Returns every error found; never throws for bad input.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseConf } from './parse.ts';
import { loadSecretsFile } from './secrets.ts';
import { validateConfig, DEFAULTS, type SecretsTable } from './validate.ts';
import type { ConfigError, LoadResult } from './types.ts';

export interface LoadOptions {
  /** Read the secrets file (default true). `check` may run without access to it. */
  secrets?: boolean;
  /** Use this secrets file instead of the one named in the config. */
  secretsFile?: string;
}

/** Parse + validate config text; `file` is used for error messages and relative paths. */
export function loadConfigText(file: string, text: string, opts: LoadOptions = {}): LoadResult {
  const { root, errors: syntax } = parseConf(text);
  const syntaxErrors: ConfigError[] = syntax.map((e) => ({ file, line: e.line, field: 'syntax', message: e.message }));

  let secrets: SecretsTable | null = null;
  const secretErrors: ConfigError[] = [];
  if (opts.secrets !== false) {
    const named = secretsPathFrom(root.entries) ?? DEFAULTS.secretsFile;
    const secretsFile = opts.secretsFile ?? resolve(dirname(file), named);
    const r = loadSecretsFile(secretsFile);
    if (r.ok) secrets = r.secrets;
    else secretErrors.push(...r.errors);
  }

  // Unreadable secrets already fail the load; validating with null avoids one extra
  // "missing PSK" error per peer that would only repeat it.
  const result = validateConfig(file, root, { secrets });
  if (syntaxErrors.length === 0 && secretErrors.length === 0) return result;
  if (result.ok) for (const s of secrets?.values() ?? []) s.wipe();
  const errors = [...syntaxErrors, ...secretErrors, ...(result.ok ? [] : result.errors)];
  return { ok: false, errors, warnings: result.warnings };
}

export function loadConfigFile(file: string, opts: LoadOptions = {}): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, errors: [{ file, line: 0, field: 'file', message: `cannot read: ${code}` }], warnings: [] };
  }
  return loadConfigText(file, text, opts);
}

/** gateway.secrets, looked up before validation so the secrets can be attached to peers. */
function secretsPathFrom(entries: ReturnType<typeof parseConf>['root']['entries']): string | null {
  for (const e of entries) {
    if (e.type === 'section' && e.name === 'gateway') {
      for (const v of e.entries) if (v.type === 'value' && v.key === 'secrets') return v.value;
    }
  }
  return null;
}
