/**
 * Remote upgrade with rollback (docs/upgrade.md):
 *   upgrade       verify the bundle (signature, sha256: nothing is written before),
 *                 write the slot not booted, read it back, mark it for one trial boot
 *                 in the boot-state record, reboot;
 *   commit        at boot (/etc/init.d/upgrade-commit): on a trial boot, wait until
 *                 sitelinkd answers and every start = start peer is up, within the
 *                 record's sl_wait seconds of boot; then make the slot permanent,
 *                 otherwise reboot: the boot script has spent the trial's only try
 *                 and boots the committed slot; all the while it pets the
 *                 hardware watchdog rcS armed for the trial (watchdog.ts) and
 *                 stops it on commit, so a hang anywhere in between resets the board;
 *   systemStatus  both slots, which one is booted, what the next boot takes.
 */
import { readFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { controlRequest } from '../control/client.ts';
import { loadConfigFile } from '../config/load.ts';
import { nextBoot, otherSlot, type BootState, type Slot } from './bootstate.ts';
import { readTar } from './tar.ts';
import { verifyBundle } from './verify.ts';
import { TrialWatchdog, WATCHDOG_DEVICE, isTrialBoot } from './watchdog.ts';
import {
  UPGRADE_PUBKEY, bootedSlot, readBootState, readLayout, readSlotInfo, writeBootState, writeSlot, type Layout, type SlotInfo,
} from './system.ts';

export interface UpgradeOptions {
  bundle: string;
  waitSeconds?: number;
  reboot: boolean;
  pubkeyFile?: string;
  log: (line: string) => void;
}

function layoutOrThrow(): Layout {
  const l = readLayout();
  if (typeof l === 'string') throw new Error(l);
  return l;
}

function bootedOrThrow(): Slot {
  const s = bootedSlot();
  if (!s) throw new Error('the kernel command line names no slot (sitelink.slot=): not booted by the A/B boot script');
  return s;
}

/** Verifies and installs a bundle into the slot not booted; returns that slot. */
export function runUpgrade(o: UpgradeOptions): Slot {
  const l = layoutOrThrow();
  const booted = bootedOrThrow();
  const state = readBootState(l);
  if (state?.trial === booted) throw new Error(`slot ${booted} is on trial and not committed yet: wait for the commit (sitelinkctl status)`);
  const target = otherSlot(booted);
  // Everything is checked in memory before the first write.
  const entries = readTar(readFileSync(o.bundle));
  const v = verifyBundle(entries, readFileSync(o.pubkeyFile ?? UPGRADE_PUBKEY, 'utf8'), l.board);
  const what = `${v.manifest.board} ${v.manifest.commit ?? '?'} (built ${v.manifest.built ?? '?'})`;
  o.log(`bundle verified: ${what}, signature and ${v.files.size - 2} artifacts`);
  // The record first says "no trial": a half-written slot is never booted.
  const wait = o.waitSeconds ?? state?.waitSeconds ?? l.defaultWaitSeconds;
  writeBootState(l, { boot: booted, trial: null, triesLeft: 0, failed: null, waitSeconds: wait });
  o.log(`writing slot ${target} (${l.slots[target]})`);
  writeSlot(l, target, v.files);
  o.log(`slot ${target} written and read back identical`);
  writeBootState(l, { boot: booted, trial: target, triesLeft: 1, failed: null, waitSeconds: wait });
  o.log(`next boot: slot ${target} once; it must have sitelinkd and every start = start tunnel up within ${wait} s, or slot ${booted} comes back`);
  if (o.reboot) {
    o.log('rebooting');
    // Detached and a second later: a reboot run in the foreground SIGTERMs this process
    // (exit 143) before it can report success, and scripts/flash remote would read that
    // as a refused upgrade although the slot is written and armed.
    spawn('sh', ['-c', 'sleep 1; exec reboot'], { detached: true, stdio: 'ignore' }).unref();
  }
  return target;
}

/** Peers with start = start in the config, or null when the board has no config. */
function startPeers(configFile: string): string[] | null {
  let r;
  try {
    r = loadConfigFile(configFile, { secrets: false });
  } catch {
    return null;
  }
  if (!r.ok) return null;
  return [...r.config.peers.values()].filter((p) => p.start === 'start').map((p) => p.name);
}

/** Why the system is not healthy yet, or null when it is. */
async function unhealthy(configFile: string, socket: string): Promise<string | null> {
  const wanted = startPeers(configFile);
  if (wanted === null) return `no valid configuration in ${configFile}`;
  let status;
  try {
    status = await controlRequest(socket, 'status', {}, 5000);
  } catch (e) {
    return `sitelinkd does not answer (${(e as Error).message})`;
  }
  const down = wanted.filter((n) => status.peers.find((p) => p.name === n)?.state !== 'up');
  return down.length ? `not up yet: ${down.join(', ')}` : null;
}

const uptime = (): number => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface CommitOptions {
  configFile: string;
  socket: string;
  log: (line: string) => void;
  /** Called when the trial failed (default: reboot). */
  reboot?: () => void;
  /** The watchdog device (tests: a plain file) and the command line naming a trial boot. */
  watchdogDevice?: string;
  cmdline?: string;
}

/** Returns 'committed', 'rolled-back' (reboot issued) or 'nothing' (not a trial boot). */
export async function commitWhenHealthy(o: CommitOptions): Promise<'committed' | 'rolled-back' | 'nothing'> {
  const cmdline = o.cmdline ?? readFileSync('/proc/cmdline', 'utf8');
  // rcS armed the watchdog when the boot script said "trial": from here on this
  // process pets it, and every way out below either stops it or reboots.
  const wd = isTrialBoot(cmdline) ? await TrialWatchdog.open(o.watchdogDevice ?? WATCHDOG_DEVICE) : null;
  const l = readLayout();
  const booted = bootedSlot(cmdline);
  const state = typeof l !== 'string' && booted ? readBootState(l) : null;
  if (typeof l === 'string' || !booted || !state || state.trial !== booted) {
    // Not a trial after all (the record disagrees with the command line): nothing
    // to decide, so nothing may reset the board.
    wd?.disarm();
    if (state?.failed && state.failed !== booted && state.boot === booted) {
      o.log(`slot ${state.failed} was not committed: running slot ${booted ?? '?'} again`);
    }
    return 'nothing';
  }
  const deadline = state.waitSeconds;
  o.log(`trial boot of slot ${booted}: committing once sitelinkd and every start = start tunnel are up (by ${deadline} s after boot)` +
    `${wd ? '; hardware watchdog held' : ''}`);
  let why: string | null = `the boot itself took longer than ${deadline} s`;
  while (uptime() < deadline) {
    wd?.pet();
    why = await unhealthy(o.configFile, o.socket);
    if (why === null) break;
    await sleep(2000);
  }
  if (why === null) {
    const now = readBootState(l);
    writeBootState(l, { boot: booted, trial: null, triesLeft: 0, failed: null, waitSeconds: now?.waitSeconds ?? state.waitSeconds });
    wd?.disarm();
    o.log(`slot ${booted} committed (healthy at ${uptime().toFixed(0)} s)${wd ? ', watchdog stopped' : ''}`);
    return 'committed';
  }
  o.log(`slot ${booted} not healthy ${deadline} s after boot (${why}): rebooting into slot ${state.boot}`);
  // The boot script spent the trial's try; make sure no further one is left.
  const now = readBootState(l) ?? state;
  writeBootState(l, { ...now, triesLeft: 0 });
  // Still armed: should the reboot itself hang, the watchdog resets the board.
  wd?.release();
  (o.reboot ?? ((): void => { execFileSync('reboot', [], { stdio: 'ignore' }); }))();
  return 'rolled-back';
}

export interface SystemStatus {
  booted: Slot | null;
  committed: Slot;
  trial: Slot | null;
  triesLeft: number;
  lastFailed: Slot | null;
  nextBoot: Slot;
  commitWaitSeconds: number;
  slots: SlotInfo[];
}

/** Both slots and the record; a string when this system has no A/B slots. */
export function systemStatus(): SystemStatus | string {
  const l = readLayout();
  if (typeof l === 'string') return l;
  const s: BootState | null = readBootState(l);
  return {
    booted: bootedSlot(),
    committed: s?.boot ?? 'a',
    trial: s?.trial ?? null,
    triesLeft: s?.triesLeft ?? 0,
    lastFailed: s?.failed ?? null,
    nextBoot: nextBoot(s),
    commitWaitSeconds: s?.waitSeconds ?? l.defaultWaitSeconds,
    slots: [readSlotInfo(l, 'a'), readSlotInfo(l, 'b')],
  };
}

export function renderSystem(s: SystemStatus | string): string {
  if (typeof s === 'string') return `system slots: ${s}`;
  const lines = ['system slots:'];
  for (const i of s.slots) {
    const tags = [i.slot === s.booted ? 'booted' : '', i.slot === s.committed ? 'committed' : '', i.slot === s.trial ? 'on trial' : '',
      i.slot === s.lastFailed ? 'last trial failed' : ''].filter(Boolean).join(', ');
    const what = i.error ? `unreadable (${i.error})` : i.commit ? `${i.commit} built ${i.built ?? '?'} kernel ${i.kernel ?? '?'}` : 'empty';
    lines.push(`  ${i.slot}  ${i.device.padEnd(12)} ${what}${tags ? `  [${tags}]` : ''}`);
  }
  lines.push(`  next boot: slot ${s.nextBoot}${s.trial ? ` (trial, ${s.triesLeft} tries left, commit within ${s.commitWaitSeconds} s)` : ''}`);
  return lines.join('\n');
}
