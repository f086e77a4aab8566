// The QEMU test's boot timeline (test/lib/boot-timeline.ts) from a board's logs:
// kernel stamps, rcS's kmsg lines, sitelinkd's start line and the negotiation
// log's wall-clock times moved onto the kernel's clock.
import t from 'tap';
import { parseTimeline } from '../lib/boot-timeline.ts';

const wallAtReady = Date.parse('2026-12-04T21:00:00.000Z');
const iso = (uptime: number): string => new Date(wallAtReady + (uptime - 30) * 1000).toISOString();
const text = [
  '[    0.700000] Trying to unpack rootfs image as initramfs...',
  '[    4.000000] Freeing initrd memory: 19800K',
  '[    7.200000] Run /init as init process',
  '[    7.300000] sitelink-boot: rcS started (uptime 7.80)',
  '[   11.500000] sitelink-boot: modules loaded (uptime 12.00)',
  '[   25.300000] sitelink-boot: deferred node.cpio.xz unpacked (uptime 25.80)',
  `sitelinkd: start at monotonic 26.50 s, main 29.00 s, ready 30.00 s (wall ${wallAtReady} ms)`,
  'node-exec-ticks 2610',
  JSON.stringify({ time: iso(30.2), level: 'info', phase: 'main', step: 'IKE_SA_INIT', direction: 'out', message: 'request sent' }),
  JSON.stringify({ time: iso(32.2), level: 'info', phase: 'main', step: 'RETRANSMIT', message: 'again' }),
  JSON.stringify({ time: iso(32.5), level: 'info', phase: 'main', step: 'IKE_SA_INIT', direction: 'in', message: 'response' }),
  JSON.stringify({
    time: iso(33.0), level: 'info', phase: 'main', step: 'IKE_AUTH', direction: 'in', message: 'peer x authenticated (psk), IKE SA established',
  }),
  'uptime 40.25 38.00',
].join('\n');

t.test('every source lands on the kernel clock, in order', (t) => {
  const { points, retransmits, uptime } = parseTimeline(text);
  const at = (what: string): number | undefined => points.find((p) => p.what === what)?.at;
  t.equal(at('/init runs'), 7.7, 'kernel lines moved onto the uptime by the offset of the stamped lines');
  t.equal(at('initramfs unpacked'), 4.5);
  t.equal(at('modules loaded'), 12);
  t.equal(at('deferred node.cpio.xz unpacked'), 25.8);
  t.equal(at('sitelinkd: node exec'), 26.1);
  t.equal(at('sitelinkd: main()'), 29);
  t.ok(Math.abs((at('first IKE_SA_INIT sent') ?? 0) - 30.2) < 0.001, 'wall time moved by the offset sitelinkd printed');
  t.ok(Math.abs((at('IKE SA + first child SA established') ?? 0) - 33) < 0.001);
  t.equal(retransmits, 1, 'the retransmit before the SA was up is counted');
  t.equal(uptime, 40.25);
  t.same(points.map((p) => p.at), [...points.map((p) => p.at)].sort((a, b) => a - b), 'sorted by time');
  t.end();
});

t.test('logs without sitelinkd give the kernel and rcS points only', (t) => {
  const { points, retransmits } = parseTimeline('[    7.700000] Run /init as init process\nnot a line\n{"broken json');
  t.same(points, [{ at: 7.7, what: '/init runs' }]);
  t.equal(retransmits, 0);
  t.end();
});
