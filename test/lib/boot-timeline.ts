// The board's boot timeline, from its own logs: where boot-to-tunnel's seconds
// go. Every point is on the guest's clock since the kernel started:
//   the "sitelink-boot:" lines /etc/init.d/rcS and unpack-deferred write to
//   /dev/kmsg with the uptime, and the kernel's own lines (dmesg), moved from the
//   kernel log's clock to the uptime by the offset those lines show,
//   sitelinkd's "start at monotonic" line (Node's process start, main, ready on
//   CLOCK_MONOTONIC, which counts from boot like the uptime),
//   the negotiation log's wall-clock times, moved onto that clock by the wall
//   time sitelinkd printed beside its monotonic one,
//   and the host's first ping through the tunnel, placed by one SSH round trip
//   that reads the guest's uptime last (so it is late by at most the return).
import type { QemuBoard } from './qemu-board.ts';

export interface TimelinePoint {
  /** Seconds since the guest's kernel started. */
  at: number;
  what: string;
}

const KERNEL_LINES: readonly [RegExp, string][] = [
  [/Trying to unpack rootfs image as initramfs/, 'kernel unpacks the initramfs'],
  [/Freeing initrd memory/, 'initramfs unpacked'],
  [/Run \/init as init process/, '/init runs'],
];

/** The points in the board's logs (the text the SSH command below prints); pure, for the unit of it. */
export function parseTimeline(text: string): { points: TimelinePoint[]; retransmits: number; uptime: number | null } {
  const points: TimelinePoint[] = [];
  let uptime: number | null = null;
  let wallOffset: number | null = null; // wall seconds - monotonic seconds
  const negotiation: { wall: number; step: string; message: string; direction?: string }[] = [];
  // The kernel's own lines are on its log clock, which may run apart from the
  // uptime by a constant: moved by the offset the uptime-stamped lines show.
  const kernel: TimelinePoint[] = [];
  let logOffset: number | null = null;
  for (const line of text.split('\n')) {
    const k = /^\[\s*([0-9.]+)\] (.*)$/.exec(line);
    if (k) {
      const at = Number(k[1]), rest = k[2] ?? '';
      const own = /^sitelink-boot: (.*) \(uptime ([0-9.]+)\)$/.exec(rest);
      if (own) {
        points.push({ at: Number(own[2]), what: own[1] ?? '' });
        logOffset ??= Number(own[2]) - at;
      }
      for (const [re, what] of KERNEL_LINES) if (re.test(rest)) kernel.push({ at, what });
      continue;
    }
    const s = /^sitelinkd: start at monotonic ([0-9.]+) s, main ([0-9.]+) s, ready ([0-9.]+) s \(wall ([0-9]+) ms\)/.exec(line);
    if (s) {
      points.push({ at: Number(s[1]), what: 'sitelinkd: Node started' });
      points.push({ at: Number(s[2]), what: 'sitelinkd: main()' });
      points.push({ at: Number(s[3]), what: 'sitelinkd: ready' });
      wallOffset = Number(s[4]) / 1000 - Number(s[3]);
      continue;
    }
    const exec = /^node-exec-ticks ([0-9]+)$/.exec(line);
    if (exec) {
      points.push({ at: Number(exec[1]) / 100, what: 'sitelinkd: node exec' });
      continue;
    }
    const up = /^uptime ([0-9.]+)/.exec(line);
    if (up) {
      uptime = Number(up[1]);
      continue;
    }
    if (line.startsWith('{')) {
      try {
        const e = JSON.parse(line) as { time?: unknown; step?: unknown; message?: unknown; direction?: unknown };
        if (typeof e.time === 'string' && typeof e.step === 'string') {
          negotiation.push({
            wall: Date.parse(e.time) / 1000, step: e.step, message: typeof e.message === 'string' ? e.message : '',
            ...(typeof e.direction === 'string' ? { direction: e.direction } : {}),
          });
        }
      } catch { /* not a log line */ }
    }
  }
  for (const p of kernel) points.push({ at: p.at + (logOffset ?? 0), what: p.what });
  let retransmits = 0;
  if (wallOffset !== null) {
    const off = wallOffset;
    const first = (what: string, ok: (e: (typeof negotiation)[number]) => boolean): void => {
      const e = negotiation.find(ok);
      if (e) points.push({ at: e.wall - off, what });
    };
    first('first IKE_SA_INIT sent', (e) => e.step === 'IKE_SA_INIT' && e.direction === 'out');
    first('IKE_SA_INIT answered', (e) => e.step === 'IKE_SA_INIT' && e.direction === 'in');
    first('IKE SA + first child SA established', (e) => e.step === 'IKE_AUTH' && /established/.test(e.message));
    const done = negotiation.findIndex((e) => e.step === 'IKE_AUTH' && /established/.test(e.message));
    retransmits = negotiation.slice(0, done < 0 ? negotiation.length : done).filter((e) => e.step === 'RETRANSMIT').length;
  }
  points.sort((a, b) => a.at - b.at);
  return { points, retransmits, uptime };
}

/** Reads the board's logs over SSH and prints the timeline up to the first ping (host time `pingAt`). */
export async function bootTimeline(board: QemuBoard, pingAt: number): Promise<string> {
  // sitelinkd prints its start line at ready, which can come after the first ping
  // (the start's last steps follow the first negotiation): wait for it, up to 10 s.
  const r = await board.ssh(
    "i=0; while ! grep -q 'sitelinkd: start at monotonic' /var/log/sitelinkd.log 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done; " +
      "dmesg | grep -E 'sitelink-boot:|Trying to unpack rootfs|Freeing initrd memory|Run /init as init'; " +
      "grep -m1 'sitelinkd: start at monotonic' /var/log/sitelinkd.log; " +
      'for p in $(pidof node); do grep -q sitelinkd.cjs /proc/$p/cmdline && echo "node-exec-ticks $(cut -d" " -f22 /proc/$p/stat)"; done; ' +
      "grep -m12 -E '\"step\":\"(IKE_SA_INIT|IKE_AUTH|RETRANSMIT)\"' /var/log/sitelink/negotiation.log; " +
      'echo "uptime $(cut -d" " -f1 /proc/uptime)"',
  );
  const returned = Date.now();
  const { points, retransmits, uptime } = parseTimeline(r.stdout);
  if (uptime !== null) points.push({ at: uptime - (returned - pingAt) / 1000, what: 'first ping through the tunnel (host; ≤ one SSH return early)' });
  points.sort((a, b) => a.at - b.at);
  const sinceQemu = ((pingAt - board.startedAt) / 1000);
  const kernelAt = uptime !== null ? sinceQemu - (uptime - (returned - pingAt) / 1000) : null;
  const lines = points.map((p, i) => {
    const step = i > 0 ? ` (+${(p.at - (points[i - 1]?.at ?? 0)).toFixed(1)})` : '';
    return `  ${p.at.toFixed(1).padStart(6)} s${step.padEnd(8)} ${p.what}`;
  });
  return `boot timeline (guest uptime; kernel start ≈ ${kernelAt === null ? '?' : kernelAt.toFixed(1)} s after qemu-run started)` +
    `${retransmits > 0 ? `; ${retransmits} IKE retransmit(s) before the SA was up` : ''}:\n${lines.join('\n')}` +
    `${r.code !== 0 ? `\n  (ssh exit ${r.code}: ${r.stderr.trim().slice(0, 300)})` : ''}`;
}
