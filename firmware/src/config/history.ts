/**
 * Config history in the config store: the last few configurations the daemon ran
 * (sitelink.conf and its secrets file, byte for byte), so an operator can list them
 * and roll back, and so an unconfirmed change (reload --confirm) can be reverted.
 *
 * Layout, next to the real (symlinks resolved) sitelink.conf: on the board that is
 * /config/history (board/common/rootfs/etc/init.d/config-store), mode 0700:
 *
 *   history/<seq>/sitelink.conf    copy of the config file
 *   history/<seq>/secrets.conf     copy of the secrets file (mode 0600; absent if none)
 *   history/<seq>/meta.json        { seq, saved, sha256, source }
 *   history/pending.json           { seq, revertTo, deadline }  while a change is unconfirmed
 *
 * Index 0 is the newest entry (the running config), 1 the one before, as in Junos
 * `rollback N`. Files are replaced by write-to-temp + rename, so a power cut leaves
 * either the old or the new file, never half of one.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isoTime } from '../base/iso-time.ts';

/** How many configurations the store keeps. */
export const HISTORY_KEEP = 5;

export type HistorySource = 'start' | 'reload' | 'rollback' | 'revert';

export interface HistoryEntry {
  /** 0 = newest (running), 1 = the one before, ... */
  index: number;
  seq: number;
  /** ISO time it was saved (= applied). */
  saved: string;
  /** sha256 of sitelink.conf + NUL + secrets (hex); secrets never leave the store. */
  sha256: string;
  source: HistorySource;
  /** Applied with --confirm and not confirmed yet. */
  pending: boolean;
}

export interface ConfigFilePaths {
  config: string;
  /** null when the config names no readable secrets file. */
  secrets: string | null;
}

export interface PendingChange {
  /** The unconfirmed entry. */
  seq: number;
  /** The entry to restore when the window closes. */
  revertTo: number;
  /** ISO time the window closes. */
  deadline: string;
}

interface Meta {
  seq: number;
  saved: string;
  sha256: string;
  source: HistorySource;
  /** Where the secrets copy goes back to on restore. */
  secretsFile: string | null;
}

/** The history directory for a config file: beside its real path (on the board /config). */
export function historyDirFor(configFile: string): string {
  let real = configFile;
  try {
    real = realpathSync(configFile);
  } catch {
    // dangling (not provisioned): the link's own directory
  }
  return join(dirname(real), 'history');
}

/** Replaces `path` (following a symlink to its target) atomically. */
export function writeFileAtomic(path: string, data: Buffer, mode: number): void {
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // new file
  }
  const tmp = `${target}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, target);
}

function readOrNull(path: string | null): Buffer | null {
  if (path === null) return null;
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

function digest(config: Buffer, secrets: Buffer | null): string {
  return createHash('sha256').update(config).update('\0').update(secrets ?? '').digest('hex');
}

export class ConfigHistory {
  readonly dir: string;
  readonly keep: number;

  constructor(dir: string, keep = HISTORY_KEEP) {
    this.dir = dir;
    this.keep = keep;
  }

  #ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
  }

  #seqs(): number[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((n) => /^\d+$/.test(n) && existsSync(join(this.dir, n, 'meta.json')))
      .map(Number)
      .sort((a, b) => b - a);
  }

  #meta(seq: number): Meta {
    return JSON.parse(readFileSync(join(this.dir, String(seq), 'meta.json'), 'utf8')) as Meta;
  }

  /** Newest first. */
  list(): HistoryEntry[] {
    const pending = this.pending();
    return this.#seqs().map((seq, index) => {
      const m = this.#meta(seq);
      return { index, seq, saved: m.saved, sha256: m.sha256, source: m.source, pending: pending?.seq === seq };
    });
  }

  /**
   * Saves the files as they are now as the newest entry, unless they equal the newest
   * entry already (then that one is returned). Older entries beyond `keep` go, but
   * never one a pending change would revert to.
   */
  record(files: ConfigFilePaths, source: HistorySource, now = new Date()): HistoryEntry {
    const config = readFileSync(files.config);
    const secrets = readOrNull(files.secrets);
    const sha256 = digest(config, secrets);
    const newest = this.#seqs()[0];
    if (newest !== undefined && this.#meta(newest).sha256 === sha256) return this.list()[0]!;
    this.#ensure();
    const seq = (newest ?? 0) + 1;
    const tmp = join(this.dir, `.${seq}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { mode: 0o700 });
    writeFileSync(join(tmp, 'sitelink.conf'), config, { mode: 0o600 });
    if (secrets !== null) writeFileSync(join(tmp, 'secrets.conf'), secrets, { mode: 0o600 });
    const meta: Meta = { seq, saved: isoTime(now), sha256, source, secretsFile: secrets !== null ? files.secrets : null };
    writeFileSync(join(tmp, 'meta.json'), `${JSON.stringify(meta)}\n`, { mode: 0o600 });
    renameSync(tmp, join(this.dir, String(seq)));
    const keepAlso = this.pending()?.revertTo;
    for (const old of this.#seqs().slice(this.keep)) {
      if (old !== keepAlso) rmSync(join(this.dir, String(old)), { recursive: true, force: true });
    }
    return this.list()[0]!;
  }

  /** The entry at `index` (0 = newest), or null. */
  at(index: number): HistoryEntry | null {
    return this.list()[index] ?? null;
  }

  bySeq(seq: number): HistoryEntry | null {
    return this.list().find((e) => e.seq === seq) ?? null;
  }

  /**
   * Writes entry `seq`'s files back over the live config file and over the secrets
   * file it was saved from (atomically, each; secrets first, so the config never
   * names keys that are not there yet).
   */
  restore(seq: number, configFile: string): void {
    const d = join(this.dir, String(seq));
    if (!existsSync(join(d, 'meta.json'))) throw new Error(`config history has no entry ${seq}`);
    const meta = this.#meta(seq);
    const secrets = readOrNull(join(d, 'secrets.conf'));
    if (secrets !== null && meta.secretsFile !== null) writeFileAtomic(meta.secretsFile, secrets, 0o600);
    writeFileAtomic(configFile, readFileSync(join(d, 'sitelink.conf')), 0o600);
  }

  pending(): PendingChange | null {
    try {
      const p = JSON.parse(readFileSync(join(this.dir, 'pending.json'), 'utf8')) as PendingChange;
      return typeof p.seq === 'number' && typeof p.revertTo === 'number' && typeof p.deadline === 'string' ? p : null;
    } catch {
      return null;
    }
  }

  setPending(p: PendingChange): void {
    this.#ensure();
    writeFileAtomic(join(this.dir, 'pending.json'), Buffer.from(`${JSON.stringify(p)}\n`), 0o600);
  }

  clearPending(): void {
    rmSync(join(this.dir, 'pending.json'), { force: true });
  }
}
