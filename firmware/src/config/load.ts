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
  const final: LoadResult = syntaxErrors.length === 0 && secretErrors.length === 0
    ? result
    : { ok: false, errors: [...syntaxErrors, ...secretErrors, ...(result.ok ? [] : result.errors)], warnings: result.warnings };
  // Keys no peer holds are wiped at once: a refused config keeps none, an accepted one
  // keeps only those attached to its peers.
  const kept = new Set(final.ok ? [...final.config.peers.values()].map((p) => p.psk) : []);
  for (const s of secrets?.values() ?? []) if (!kept.has(s)) s.wipe();
  return final;
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
