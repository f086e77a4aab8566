// sitelinkd --wait-ready FILE (the board's /usr/sbin/sitelinkd passes
// /run/sitelink-system-ready): at boot /etc/init.d/rcS launches sitelinkd as
// soon as Node's files are unpacked, while it still loads modules, applies the
// firewall and brings the network up, and makes FILE once those are done.
// Node's start, the bundle's load and the config's parse (seconds of one CPU
// under QEMU) run meanwhile; nothing that touches the system (TUN, nftables,
// routes, sockets) runs before FILE exists. Any later start finds it there and
// waits for nothing. Should the boot never get there, sitelinkd starts after
// five minutes anyway (and reports what is missing itself). Without the option
// (off the board, the tests) there is no wait.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const READY_LIMIT_MS = 300_000;
const POLL_MS = 50;

export interface ReadyWait {
  found: boolean;
  waitedMs: number;
}

/** Resolves once `file` exists, or after `limitMs` (found: false). */
export async function waitForFile(file: string, limitMs = READY_LIMIT_MS, pollMs = POLL_MS): Promise<ReadyWait> {
  const t0 = Date.now();
  while (!existsSync(file)) {
    if (Date.now() - t0 >= limitMs) return { found: false, waitedMs: Date.now() - t0 };
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return { found: true, waitedMs: Date.now() - t0 };
}

/**
 * A line for the board's boot timeline (test/lib/boot-timeline.ts reads the kernel
 * log's "sitelink-boot: STEP (uptime X)" lines, which rcS writes too). Best effort:
 * off the board, or without the right to write /dev/kmsg, nothing is written. Used
 * only with --wait-ready (the board's start): a few lines per start.
 */
export function bootStamp(step: string): void {
  try {
    const uptime = readFileSync('/proc/uptime', 'utf8').split(' ')[0] ?? '?';
    writeFileSync('/dev/kmsg', `<6>sitelink-boot: ${step} (uptime ${uptime})\n`);
  } catch {
    /* not on the board */
  }
}
