/**
 * The boot-state record the A/B boot script (board/common/boot/sitelink-ab.cmd) and
 * the running system share: one 512-byte sector on the boot medium in U-Boot's text
 * environment format ("name=value" lines, then NUL padding; `env import -t` /
 * `env export -t -s 0x200`).
 *
 *   sl_magic  sitelink-boot-1
 *   sl_boot   committed slot (a|b): booted unless a trial is pending
 *   sl_try    slot on trial (a|b|none)
 *   sl_left   boots the trial may still take; U-Boot spends one before each
 *             trial boot, so a trial that never commits falls back by itself
 *   sl_failed last trial that fell back (a|b|none), for status
 *   sl_wait   seconds a trial has after boot to commit
 */
export type Slot = 'a' | 'b';

export interface BootState {
  boot: Slot;
  trial: Slot | null;
  triesLeft: number;
  failed: Slot | null;
  waitSeconds: number;
}

export const RECORD_BYTES = 512;
export const MAGIC = 'sitelink-boot-1';
/** U-Boot's setexpr counts in hex: one digit keeps both sides reading the same number. */
export const MAX_TRIES = 9;

export const otherSlot = (s: Slot): Slot => (s === 'a' ? 'b' : 'a');

const slotOrNone = (v: string | undefined): Slot | null | undefined =>
  v === 'a' || v === 'b' ? v : v === 'none' ? null : undefined;

/**
 * Parses a record; null when it carries no valid record (a fresh medium: the boot
 * script then boots slot a). Throws on a record with the magic but bad fields, which
 * only a bug or damage can produce.
 */
export function parseBootState(sector: Buffer): BootState | null {
  const nul = sector.indexOf(0);
  const text = sector.subarray(0, nul < 0 ? sector.length : nul).toString('latin1');
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1));
  }
  if (kv.get('sl_magic') !== MAGIC) return null;
  const boot = slotOrNone(kv.get('sl_boot'));
  const trial = slotOrNone(kv.get('sl_try'));
  const failed = slotOrNone(kv.get('sl_failed') ?? 'none');
  const left = kv.get('sl_left') ?? '';
  const wait = kv.get('sl_wait') ?? '';
  if (!boot || trial === undefined || failed === undefined || !/^[0-9]$/.test(left) || !/^[0-9]{1,6}$/.test(wait)) {
    throw new Error(`boot-state record is damaged: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return { boot, trial, triesLeft: Number(left), failed, waitSeconds: Number(wait) };
}

/** The record as the boot script imports it (the same names and order U-Boot exports). */
export function serializeBootState(s: BootState): Buffer {
  if (!Number.isInteger(s.triesLeft) || s.triesLeft < 0 || s.triesLeft > MAX_TRIES) throw new RangeError('triesLeft must be 0..9');
  if (!Number.isInteger(s.waitSeconds) || s.waitSeconds < 1 || s.waitSeconds > 999_999) throw new RangeError('waitSeconds must be 1..999999');
  const text = [
    `sl_boot=${s.boot}`,
    `sl_failed=${s.failed ?? 'none'}`,
    `sl_left=${s.triesLeft}`,
    `sl_magic=${MAGIC}`,
    `sl_try=${s.trial ?? 'none'}`,
    `sl_wait=${s.waitSeconds}`,
  ].join('\n') + '\n';
  const out = Buffer.alloc(RECORD_BYTES);
  out.write(text, 'latin1');
  return out;
}

/** Which slot the next boot takes, as the boot script decides (for status). */
export function nextBoot(s: BootState | null): Slot {
  if (!s) return 'a';
  return s.trial && s.triesLeft > 0 ? s.trial : s.boot;
}
