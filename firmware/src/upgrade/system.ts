/**
 * The board's A/B system slots, as the running system sees them (I/O edge of the
 * upgrade; the formats are in bootstate.ts, tar.ts, verify.ts). Devices come from
 * /etc/sitelink/board.env (BOARD_RT_SLOT_A_DEV, BOARD_RT_SLOT_B_DEV: a path or
 * LABEL=name, the record's sector BOARD_RT_BOOTSTATE_SECTOR); the booted slot from
 * the kernel command line the boot script wrote (sitelink.slot=a|b).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, realpathSync, rmSync, writeSync } from 'node:fs';
import { createHash, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { RECORD_BYTES, parseBootState, serializeBootState, type BootState, type Slot } from './bootstate.ts';

export const BOARD_ENV = '/etc/sitelink/board.env';
export const UPGRADE_PUBKEY = '/etc/sitelink/upgrade.pub.pem';

export interface Layout {
  board: string;
  /** Whole medium holding the boot-state record. */
  disk: string;
  slots: Record<Slot, string>;
  sector: number;
  defaultWaitSeconds: number;
}

/** KEY='value' lines as make-rootfs writes them. */
export function parseBoardEnv(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const r = /^([A-Z_][A-Z0-9_]*)='([^']*)'$/.exec(line.trim());
    if (r?.[1] !== undefined && r[2] !== undefined) m.set(r[1], r[2]);
  }
  return m;
}

function resolveDevice(spec: string): string | null {
  if (spec === '') return null;
  if (!spec.startsWith('LABEL=')) return spec;
  try {
    return execFileSync('findfs', [spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/** /dev/vda2 -> /dev/vda (the partition's parent in sysfs). */
function parentDisk(partition: string): string {
  const dir = realpathSync(`/sys/class/block/${path.basename(realpathSync(partition))}`);
  return `/dev/${path.basename(path.dirname(dir))}`;
}

/** The layout, or a reason why this system has no A/B slots. */
export function readLayout(envFile = BOARD_ENV): Layout | string {
  let env: Map<string, string>;
  try {
    env = parseBoardEnv(readFileSync(envFile, 'utf8'));
  } catch {
    return `no ${envFile}: not running on a sitelink image`;
  }
  const a = resolveDevice(env.get('BOARD_RT_SLOT_A_DEV') ?? '');
  const b = resolveDevice(env.get('BOARD_RT_SLOT_B_DEV') ?? '');
  if (!a || !b) return 'no A/B system slots on this boot medium (QEMU: scripts/qemu-run --system-disk)';
  return {
    board: env.get('BOARD_NAME') ?? '',
    disk: parentDisk(a),
    slots: { a, b },
    sector: Number(env.get('BOARD_RT_BOOTSTATE_SECTOR') ?? '2040'),
    defaultWaitSeconds: Number(env.get('BOARD_RT_UPGRADE_TIMEOUT') ?? '180'),
  };
}

export function bootedSlot(cmdline = readFileSync('/proc/cmdline', 'utf8')): Slot | null {
  const m = /(?:^|\s)sitelink\.slot=([ab])(?:\s|$)/.exec(cmdline);
  return m?.[1] === 'a' || m?.[1] === 'b' ? m[1] : null;
}

export function readBootState(l: Layout): BootState | null {
  const fd = openSync(l.disk, 'r');
  try {
    const buf = Buffer.alloc(RECORD_BYTES);
    readSync(fd, buf, 0, RECORD_BYTES, l.sector * 512);
    return parseBootState(buf);
  } finally {
    closeSync(fd);
  }
}

/** One sector, written in place and flushed: the medium writes a sector whole. */
export function writeBootState(l: Layout, s: BootState): void {
  const fd = openSync(l.disk, 'r+');
  try {
    writeSync(fd, serializeBootState(s), 0, RECORD_BYTES, l.sector * 512);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const MOUNTS = '/run/sitelink/slots';

function withMounted<T>(l: Layout, slot: Slot, mode: 'ro' | 'rw', fn: (dir: string) => T): T {
  const dir = path.join(MOUNTS, slot);
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'ext4', '-o', `${mode},noatime`, l.slots[slot], dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    return fn(dir);
  } finally {
    execFileSync('umount', [dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}

export interface SlotInfo {
  slot: Slot;
  device: string;
  /** From the slot's manifest.json; null when the slot holds no image. */
  commit: string | null;
  built: string | null;
  kernel: string | null;
  error?: string;
}

export function readSlotInfo(l: Layout, slot: Slot): SlotInfo {
  const info: SlotInfo = { slot, device: l.slots[slot], commit: null, built: null, kernel: null };
  try {
    withMounted(l, slot, 'ro', (dir) => {
      let m: { commit?: unknown; built?: unknown; kernel?: unknown };
      try {
        m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as typeof m;
      } catch {
        return;
      }
      info.commit = typeof m.commit === 'string' ? m.commit : null;
      info.built = typeof m.built === 'string' ? m.built : null;
      info.kernel = typeof m.kernel === 'string' ? m.kernel : null;
    });
  } catch (e) {
    info.error = (e as Error).message.split('\n')[0] ?? 'cannot mount';
  }
  return info;
}

const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/**
 * Replaces the slot's files with `files`, then mounts it again read-only and compares
 * every file with what was meant to be written. The slot must not be the booted one.
 */
export function writeSlot(l: Layout, slot: Slot, files: ReadonlyMap<string, Buffer>): void {
  withMounted(l, slot, 'rw', (dir) => {
    for (const e of readdirSync(dir)) if (e !== 'lost+found') rmSync(path.join(dir, e), { recursive: true, force: true });
    for (const [name, data] of files) {
      const fd = openSync(path.join(dir, name), 'w', 0o644);
      try {
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off, data.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  });
  // Unmounted (so written back), drop the cached pages so the read-back comes from the medium.
  try {
    execFileSync('sh', ['-c', 'echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
  } catch {
    /* best effort: the comparison still catches a bad write through the file system */
  }
  withMounted(l, slot, 'ro', (dir) => {
    const present = readdirSync(dir).filter((e) => e !== 'lost+found').sort();
    const wanted = [...files.keys()].sort();
    if (present.join(' ') !== wanted.join(' ')) throw new Error(`slot ${slot}: read-back lists ${present.join(' ')}`);
    for (const [name, data] of files) {
      if (!timingSafeEqual(sha(readFileSync(path.join(dir, name))), sha(data))) throw new Error(`slot ${slot}: read-back of ${name} differs`);
    }
  });
}
