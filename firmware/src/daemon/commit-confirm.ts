/**
 * Commit-confirmed changes (as Junos `commit confirmed`): `reload --confirm 120s`
 * applies the new config and, unless `confirm` arrives within the window, puts the
 * previous one back by itself. The daemon owns the timer, so the revert happens even
 * when the SSH session that asked for the change died with the tunnel it went
 * through. The window is also written to the config store (history pending.json): a
 * daemon restart or reboot inside the window reverts at once (recoverUnconfirmed).
 *
 * Every applied config is saved in the config history (config/history.ts), which
 * `history` lists and `rollback N` restores.
 */
import { resolve, dirname } from 'node:path';
import { ConfigHistory, historyDirFor, type HistorySource } from '../config/history.ts';
import type { SitelinkConfig } from '../config/types.ts';
import type { NegotiationLog } from '../log/negotiation-log.ts';
import type { ConfirmPending, HistoryResult, ReloadResult } from '../control/protocol.ts';
import { isoTime } from '../base/iso-time.ts';

/** Bounds of the confirm window: long enough to check a tunnel, short enough to matter. */
export const CONFIRM_MIN_SECONDS = 5;
export const CONFIRM_MAX_SECONDS = 24 * 3600;

export interface CommitContext {
  /** The running configuration. */
  config(): SitelinkConfig;
  /** Re-reads the config file and applies it (policy-handlers reloadFromFile). */
  reload(): Promise<ReloadResult>;
  log: NegotiationLog;
  /** Secrets file given on the command line (overrides gateway.secrets). */
  secretsFile?: string;
  now?: () => number;
}

/** The secrets file a loaded config uses. */
export function secretsPathOf(config: SitelinkConfig, override?: string): string {
  return override ?? resolve(dirname(config.file), config.gateway.secretsFile);
}

export class CommitConfirm {
  readonly history: ConfigHistory;
  readonly #ctx: CommitContext;
  #timer: NodeJS.Timeout | null = null;
  /** One change at a time: reload, confirm, rollback and the revert run in turn. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: CommitContext, history = new ConfigHistory(historyDirFor(ctx.config().file))) {
    this.#ctx = ctx;
    this.history = history;
  }

  #now(): number {
    return this.#ctx.now?.() ?? Date.now();
  }

  #files(): { config: string; secrets: string } {
    const c = this.#ctx.config();
    return { config: c.file, secrets: secretsPathOf(c, this.#ctx.secretsFile) };
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Saves the running config (at start). A history that cannot be written is logged, not fatal. */
  recordRunning(source: HistorySource): void {
    try {
      this.history.record(this.#files(), source);
    } catch (e) {
      this.#ctx.log.log({
        level: 'warning',
        phase: 'config',
        step: 'HISTORY',
        message: `config history not saved in ${this.history.dir}: ${String(e)}`,
      });
    }
    // A window left by a previous run was handled by recoverUnconfirmed; re-arm none.
    this.history.clearPending();
  }

  pending(): ConfirmPending | null {
    const p = this.history.pending();
    if (!p || this.#timer === null) return null;
    const left = Math.max(0, Math.ceil((Date.parse(p.deadline) - this.#now()) / 1000));
    return { deadline: p.deadline, secondsLeft: left, revertTo: p.revertTo };
  }

  /** reload [--confirm SECONDS] */
  reload(confirmSeconds: number | null): Promise<ReloadResult> {
    return this.#serial(() => this.#apply('reload', confirmSeconds));
  }

  /** rollback N [--confirm SECONDS]: history entry N (0 = running) back into force. */
  rollback(index: number, confirmSeconds: number | null): Promise<ReloadResult> {
    return this.#serial(async () => {
      const entry = this.history.at(index);
      if (!entry) throw new Error(`config history has no entry ${index} (sitelinkctl config history lists them)`);
      const running = this.history.at(0);
      this.history.restore(entry.seq, this.#ctx.config().file);
      const r = await this.#apply('rollback', confirmSeconds);
      // The old entry no longer validates (or nft refused it): the live files go back too.
      if (!r.ok && running) this.history.restore(running.seq, this.#ctx.config().file);
      return r;
    });
  }

  confirm(): Promise<{ message: string }> {
    return this.#serial(() => {
      const p = this.history.pending();
      if (!p || this.#timer === null) throw new Error('nothing to confirm: no change is waiting for confirmation');
      this.#disarm();
      this.#ctx.log.log({ phase: 'config', step: 'CONFIRM', message: `configuration ${p.seq} confirmed` });
      return Promise.resolve({ message: `configuration confirmed (history ${p.seq}); the automatic rollback is cancelled` });
    });
  }

  list(): HistoryResult {
    return { entries: this.history.list(), confirmPending: this.pending() };
  }

  /** Stops the timer (daemon shutdown); pending.json stays, so the next start reverts. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #disarm(): void {
    this.close();
    this.history.clearPending();
  }

  async #apply(source: HistorySource, confirmSeconds: number | null): Promise<ReloadResult> {
    const before = this.history.pending();
    const running = this.history.at(0);
    if (confirmSeconds !== null && !running) {
      return {
        ok: false,
        message: `no saved configuration to return to (config history ${this.history.dir} unavailable); use reload without --confirm`,
        errors: [],
      };
    }
    const r = await this.#ctx.reload();
    if (!r.ok) return r;
    let seq: number | null = null;
    try {
      seq = this.history.record(this.#files(), source).seq;
    } catch (e) {
      this.#ctx.log.log({ level: 'warning', phase: 'config', step: 'HISTORY', message: `config history not saved: ${String(e)}` });
    }
    if (confirmSeconds === null) {
      // A plain reload during a window takes the new config as confirmed (Junos `commit`).
      if (before) this.#disarm();
      return r;
    }
    // A second --confirm inside the window keeps the original config as the way back.
    const revertTo = before?.revertTo ?? running!.seq;
    const deadline = isoTime(this.#now() + confirmSeconds * 1000);
    this.close();
    this.history.setPending({ seq: seq ?? revertTo, revertTo, deadline });
    this.#timer = setTimeout(() => void this.#serial(() => this.#revert()), confirmSeconds * 1000);
    this.#ctx.log.log({
      level: 'warning',
      phase: 'config',
      step: 'CONFIRM',
      message: `configuration applied; reverts to history ${revertTo} at ${deadline} unless confirmed`,
    });
    return {
      ...r,
      message: `${r.message}; reverts at ${deadline} unless "sitelinkctl confirm"`,
      confirm: { deadline, secondsLeft: confirmSeconds, revertTo },
    };
  }

  async #revert(): Promise<void> {
    const p = this.history.pending();
    this.#timer = null;
    if (!p) return;
    try {
      this.history.restore(p.revertTo, this.#ctx.config().file);
      this.history.clearPending();
      const r = await this.#ctx.reload();
      if (!r.ok) throw new Error(r.errors.join('; '));
      this.history.record(this.#files(), 'revert');
      this.#ctx.log.log({
        level: 'warning',
        phase: 'config',
        step: 'CONFIRM',
        message: `not confirmed by ${p.deadline}: reverted to history ${p.revertTo}`,
      });
    } catch (e) {
      this.#ctx.log.log({
        level: 'error',
        phase: 'config',
        step: 'CONFIRM',
        message: `revert to history ${p.revertTo} failed: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  }
}

/**
 * At daemon start, before the config is read: a change still waiting for confirmation
 * (the daemon or the board restarted inside the window) is not trusted; the config it
 * would have reverted to is put back. Returns a line for the log, or null.
 */
export function recoverUnconfirmed(configFile: string): string | null {
  const history = new ConfigHistory(historyDirFor(configFile));
  const p = history.pending();
  if (!p) return null;
  try {
    history.restore(p.revertTo, configFile);
    history.clearPending();
    return `unconfirmed change (history ${p.seq}) found at start: reverted to history ${p.revertTo}`;
  } catch (e) {
    history.clearPending();
    return `unconfirmed change (history ${p.seq}) found at start, revert failed: ${String(e)}`;
  }
}
