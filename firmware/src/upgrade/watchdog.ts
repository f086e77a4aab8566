/**
 * The hardware watchdog a trial boot runs under (docs/upgrade.md). /etc/init.d/rcS
 * arms it first thing on a trial boot (sitelink.trial=1 on the kernel command line,
 * board.env BOARD_RT_WATCHDOG) and pets it after each boot step; the commit wait
 * (commitWhenHealthy) then holds the device and pets it while it is still deciding.
 * Linux watchdog device protocol (Documentation/watchdog/watchdog-api.rst): any
 * write pets it; closing after writing the magic character 'V' stops it; closing
 * without it leaves it running, so the board resets unless someone pets again.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export const WATCHDOG_DEVICE = '/dev/watchdog';
const PET = Buffer.from('1');
const MAGIC_CLOSE = Buffer.from('V');

/** Is this boot a trial the boot script marked (sitelink.trial=1)? */
export function isTrialBoot(cmdline: string): boolean {
  return /(?:^|\s)sitelink\.trial=1(?:\s|$)/.test(cmdline);
}

export class TrialWatchdog {
  #fd: number | null;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * Opens the device (which arms it if rcS had not); null when the board has none or
   * it cannot be opened (no driver): the trial then only has its commit timeout.
   * The device takes one opener at a time and rcS's feeder opens it for each pet
   * until this process holds it: EBUSY is retried for a few seconds.
   */
  static async open(device = WATCHDOG_DEVICE, busyRetryMs = 5000): Promise<TrialWatchdog | null> {
    const until = Date.now() + busyRetryMs;
    for (;;) {
      try {
        const w = new TrialWatchdog(openSync(device, 'w'));
        w.pet();
        return w;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > until) return null;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Restarts the countdown. */
  pet(): void {
    if (this.#fd !== null) writeSync(this.#fd, PET);
  }

  /** The trial is over (committed): stop the watchdog. */
  disarm(): void {
    if (this.#fd === null) return;
    try {
      writeSync(this.#fd, MAGIC_CLOSE);
    } finally {
      this.#close();
    }
  }

  /**
   * Lets go without stopping it (the trial failed and a reboot follows): if the reboot
   * itself hangs, the watchdog still resets the board.
   */
  release(): void {
    this.#close();
  }

  #close(): void {
    const fd = this.#fd;
    this.#fd = null;
    if (fd !== null) closeSync(fd);
  }
}
