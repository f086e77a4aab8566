/**
 * Entry point for configuration: read sitelink.conf, parse, load the secrets file it
 * names, validate. Returns every error found; never throws for bad input.
 */
import { dirname, resolve } from 'node:path';
import { escapeControl } from './escape.ts';
import { MAX_SYNTAX_ERRORS, parseConf } from './parse.ts';
import { readTextFile, readTextFileSync, type TextFile } from './read-file.ts';
import { loadSecretsFile, loadSecretsFileAsync, type SecretsResult } from './secrets.ts';
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
  return printable(checkConfigText(file, text, opts));
}

function checkConfigText(file: string, text: string, opts: LoadOptions, readSecrets: (file: string) => SecretsResult = loadSecretsFile): LoadResult {
  const { root, errors: syntax } = parseConf(text);
  if (syntax.length > MAX_SYNTAX_ERRORS) {
    // Not a sitelink config at all: validating what little parsed would only add noise.
    return { ok: false, errors: syntax.map((e) => ({ file, line: e.line, field: 'syntax', message: e.message })), warnings: [] };
  }
  if (root.entries.length === 0 && syntax.length === 0) {
    // Its own problem first: an empty file would otherwise be reported as a missing
    // default secrets file and a missing rules section.
    return {
      ok: false,
      errors: [
        { file, line: 0, field: 'file', message: 'the configuration is empty (no gateway, peers or rules section); see docs/config.md' },
      ],
      warnings: [],
    };
  }
  const syntaxErrors: ConfigError[] = syntax.map((e) => ({ file, line: e.line, field: 'syntax', message: e.message }));

  let secrets: SecretsTable | null = null;
  const secretErrors: ConfigError[] = [];
  if (opts.secrets !== false) {
    const r = readSecrets(secretsFileFor(file, root.entries, opts));
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
  const kept = new Set(final.ok ? [...final.config.peers.values()].flatMap((p) => [p.psk, p.ppkKey]) : []);
  for (const s of secrets?.values() ?? []) if (!kept.has(s)) s.wipe();
  return final;
}

/** Errors (and warnings) reported at most; the rest are counted. */
export const MAX_REPORTED = 100;

/** Error text quotes the file (names, values, whole lines): escape what a terminal would act on. */
function printable(r: LoadResult): LoadResult {
  const esc = (list: ConfigError[]): ConfigError[] => {
    const out = list.slice(0, MAX_REPORTED).map((e) => ({ ...e, field: escapeControl(e.field), message: escapeControl(e.message) }));
    const last = list[list.length - 1];
    if (list.length > MAX_REPORTED && last) out.push({ file: last.file, line: 0, field: 'file', message: `and ${list.length - MAX_REPORTED} more` });
    return out;
  };
  return r.ok ? { ...r, warnings: esc(r.warnings) } : { ok: false, errors: esc(r.errors), warnings: esc(r.warnings) };
}

function fromFile(file: string, read: TextFile, opts: LoadOptions): LoadResult {
  if (!read.ok) return { ok: false, errors: [{ file, line: 0, field: 'file', message: read.message }], warnings: [] };
  return loadConfigText(file, read.text, opts);
}

/** Reads the file (regular, at most MAX_CONFIG_BYTES, text: config/read-file.ts) and loads it. */
export function loadConfigFile(file: string, opts: LoadOptions = {}): LoadResult {
  return fromFile(file, readTextFileSync(file), opts);
}

/** loadConfigFile with the config and secrets files read on the thread pool, for
 * requests from the control socket: IKE goes on while they are read. */
export async function loadConfigFileAsync(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const read = await readTextFile(file);
  if (!read.ok || opts.secrets === false) return fromFile(file, read, opts);
  const wanted = secretsFileFor(file, parseConf(read.text).root.entries, opts);
  const pre = await loadSecretsFileAsync(wanted);
  let used = false;
  const r = printable(checkConfigText(file, read.text, opts, (f) => {
    if (f !== wanted) return loadSecretsFile(f);
    used = true;
    return pre;
  }));
  // Not consulted (an empty config): its keys go at once.
  if (!used && pre.ok) for (const s of pre.secrets.values()) s.wipe();
  return r;
}

/** The secrets file a config names (gateway.secrets, relative to the config), or the default. */
function secretsFileFor(file: string, entries: ReturnType<typeof parseConf>['root']['entries'], opts: LoadOptions): string {
  return opts.secretsFile ?? resolve(dirname(file), secretsPathFrom(entries) ?? DEFAULTS.secretsFile);
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
