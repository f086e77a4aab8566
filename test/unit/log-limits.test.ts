// The negotiation log's bounds: per-kind rate limiting with exact summaries
// (log/rate-limit.ts), the file size cap with rotation to .sav, write errors
// that never throw, and syslog lines dropped rather than queued without end.
import t from 'tap';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LogLimiter, count } from '../../firmware/src/log/rate-limit.ts';
import { NegotiationLog, type LogEvent } from '../../firmware/src/log/negotiation-log.ts';
import { SyslogSink, MAX_HELD_LINES, MAX_PENDING_BYTES } from '../../firmware/src/log/syslog.ts';
import { loadConfigText } from '../../firmware/src/config/load.ts';

const mm1Drop = (i: number): LogEvent => ({
  level: 'warning', phase: 'main', step: 'MM1', message: `dropped: no peer configured for 203.0.113.${i % 250}`,
  drop: { what: 'MM1', source: 'unconfigured addresses', from: `203.0.113.${i % 250}` },
});

t.test('counts are grouped by thousands without Intl (ICU data costs RSS)', async (t) => {
  for (const n of [0, 7, 999, 1000, 12_345, 100_000, 1_234_567, 9_007_199_254_740_991, -4321]) {
    t.equal(count(n), n.toLocaleString('en-US'), String(n));
  }
});

t.test('limiter: the first few in full, the rest counted exactly in one summary per window', async (t) => {
  const l = new LogLimiter({ windowMs: 10_000, dropBurst: 5, burst: 50 });
  let admitted = 0;
  const summaries = [];
  for (let i = 0; i < 12_345; i++) {
    const r = l.admit(mm1Drop(i + 7), i * 0.5); // 12,345 within 6.2 s
    if (r.admit) admitted++;
    summaries.push(...r.summaries);
  }
  t.equal(admitted, 5, 'five logged in full');
  t.same(summaries, [], 'no summary before the window ends');
  const s = l.flush(10_000);
  t.equal(s.length, 1);
  t.equal(s[0]?.message, 'dropped 12,345 MM1 from unconfigured addresses in the last 10 s (5 logged in full); first from 203.0.113.7');
  t.same(s[0]?.data, { total: 12_345, suppressed: 12_340, seconds: 10, first: '203.0.113.7' });
  t.equal(l.suppressedTotal, 12_340, 'every left-out line is counted');
  t.equal(l.admit(mm1Drop(1), 10_001).admit, true, 'a new window starts with a fresh burst');
  t.same(l.flush(30_000), [], 'a window without left-out lines ends silently');
});

t.test('limiter: kinds and sources are separate; other lines have a larger burst per peer and step', async (t) => {
  const l = new LogLimiter({ windowMs: 1000, dropBurst: 2, burst: 3 });
  const from = (source: string): LogEvent => ({
    level: 'warning',
    phase: 'main',
    step: 'RECV',
    message: 'x',
    drop: { what: 'malformed datagrams', source, from: '192.0.2.1' },
  });
  const n = (ev: LogEvent, k: number): number => Array.from({ length: k }, () => l.admit(ev, 0).admit).filter(Boolean).length;
  t.equal(n(from('unconfigured addresses'), 10), 2);
  t.equal(n(from('peer hq'), 10), 2, 'a configured peer is its own class');
  t.equal(n({ peer: 'hq', phase: 'quick', step: 'QM1', message: 'q' }, 10), 3);
  t.equal(n({ peer: 'br1', phase: 'quick', step: 'QM1', message: 'q' }, 10), 3, 'per peer');
  t.equal(n({ level: 'error', peer: 'hq', phase: 'quick', step: 'QM1', message: 'q' }, 10), 3, 'per level');
  const s = l.flush(1000);
  t.equal(s.length, 5);
  t.match(s.find((x) => x.peer === 'br1')?.message, /^10 "quick QM1" lines in the last 1 s, 7 left out \(rate limit\); the first: q$/);
  t.equal(l.suppressedTotal, 8 + 8 + 7 * 3);
});

t.test('limiter: the number of keys is bounded', async (t) => {
  const l = new LogLimiter({ windowMs: 1000, dropBurst: 2, burst: 100, maxKeys: 4 });
  let admitted = 0;
  for (let i = 0; i < 1000; i++) if (l.admit({ phase: 'main', step: `S${i}`, message: `m${i}` }, 0).admit) admitted++;
  t.equal(admitted, 4 * 1 + 2, 'four keys with one line each, then two from the shared overflow bucket');
  const s = l.flush(1000);
  t.equal(s.length, 1);
  t.match(s[0]?.message, /^996 log lines of too many kinds in the last 1 s \(2 logged in full, 994 left out\); the first: m4$/);
});

t.test('negotiation log: a flood writes a bounded number of bytes, the summary comes when the window ends', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-limit-'));
  const file = join(dir, 'negotiation.log');
  let clock = 0;
  const log = NegotiationLog.open({ file, syslog: false, level: 'info', clock: () => clock, limiter: new LogLimiter({ windowMs: 10_000 }) });
  for (let i = 0; i < 100_000; i++) {
    clock = i / 10; // 100,000 datagrams in 10 s
    log.log(mm1Drop(i));
  }
  clock = 10_000;
  log.flush();
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { message: string; data?: { total?: number } });
  t.equal(lines.length, 6, 'five in full and one summary');
  t.equal(lines[5]?.message, 'dropped 100,000 MM1 from unconfigured addresses in the last 10 s (5 logged in full); first from 203.0.113.0');
  t.ok(statSync(file).size < 2000, `file size ${statSync(file).size} bytes`);
  t.equal(log.stats().suppressed, 99_995);
  t.equal(log.recent(10).length, 6, 'the ring holds the same limited stream');
  await log.close();
});

t.test('negotiation log: the timer writes the summary without a further line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-limit-'));
  const file = join(dir, 'negotiation.log');
  const log = NegotiationLog.open({ file, syslog: false, level: 'info', limiter: new LogLimiter({ windowMs: 50 }) });
  for (let i = 0; i < 20; i++) log.log(mm1Drop(i));
  await new Promise((r) => setTimeout(r, 300));
  t.match(readFileSync(file, 'utf8'), /dropped 20 MM1 from unconfigured addresses in the last \d+ s \(5 logged in full\)/);
  await log.close();
});

t.test('negotiation log: size cap rotates to .sav, the two never exceed twice the cap', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-cap-'));
  const file = join(dir, 'negotiation.log');
  writeFileSync(file, 'previous run\n');
  const log = NegotiationLog.open({ file, syslog: false, level: 'info', maxBytes: 4096 });
  t.equal(readFileSync(`${file}.sav`, 'utf8'), 'previous run\n', 'the previous run is .sav at start');
  for (let i = 0; i < 500; i++) log.log({ peer: `p${i}`, phase: 'main', step: 'MM1', message: `line ${i}` });
  const main = statSync(file).size;
  const sav = statSync(`${file}.sav`).size;
  t.ok(main <= 4096 && sav <= 4096, `log ${main} and .sav ${sav} bytes, cap 4096`);
  t.ok(log.stats().rotations >= 5, `rotated ${log.stats().rotations} times`);
  t.equal(log.stats().bytesWritten > 4096 * 5, true, 'every line was written');
  t.match(readFileSync(file, 'utf8'), /"line 499"/, 'the newest line is in the file');
  const last = readFileSync(`${file}.sav`, 'utf8').trim().split('\n').at(-1) ?? '';
  t.ok(JSON.parse(last), '.sav ends with a whole line');
  log.log({ phase: 'daemon', step: 'BIG', message: 'x'.repeat(10_000) });
  t.ok(statSync(file).size <= 4096, 'a line longer than the cap is cut to it');
  await log.close();
});

// A tiny tmpfs fills up for real (ENOSPC); needs root to mount.
const root = process.getuid?.() === 0;
t.test(
  'negotiation log: a full file system costs lines, never an exception',
  { skip: root ? false : 'SKIP: needs root to mount a 16 KiB tmpfs' },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sl-full-'));
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir]);
    if (m.status !== 0) return t.fail(`mount tmpfs: ${String(m.stderr)}`);
    t.teardown(() => {
      spawnSync('umount', [dir]);
    });
    const log = NegotiationLog.open({ file: join(dir, 'negotiation.log'), syslog: false, level: 'info', maxBytes: 1024 * 1024 });
    t.doesNotThrow(() => {
      for (let i = 0; i < 400; i++) log.log({ peer: `p${i}`, phase: 'main', step: 'MM1', message: `line ${i} ${'z'.repeat(100)}` });
    });
    t.ok(log.stats().writeErrors > 0, `write errors counted (${log.stats().writeErrors})`);
    t.match(log.recent(1)[0]?.message, /^line 399/, 'the newest line is still served by sitelinkctl log');
    await log.close();
  },
);

t.test('syslog: a logger that does not read gets at most MAX_PENDING_BYTES, the rest is counted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sl-sys-'));
  const sock = join(dir, 'log');
  writeFileSync(sock, '');
  const stuck = join(dir, 'stuck.sh');
  // Reads nothing for a second (the lines below are sent meanwhile), then drains and exits at EOF.
  writeFileSync(stuck, '#!/bin/sh\nsleep 1\nexec cat >/dev/null\n');
  chmodSync(stuck, 0o755);
  const sink = SyslogSink.open({ socket: sock, command: stuck, flavour: 'busybox' });
  const line = 'y'.repeat(200);
  for (let i = 0; i < 10_000; i++) sink.send('warning', line);
  // The pipe takes up to 64 KiB in the kernel, the stream up to MAX_PENDING_BYTES more.
  t.ok(sink.dropped > 10_000 - (2 * MAX_PENDING_BYTES) / 201, `dropped ${sink.dropped} of 10,000 lines`);
  t.ok(sink.dropped < 10_000, 'some were sent');
  await sink.close();
});

/**
 * A held sink whose busybox-style logger (one per severity, `-p daemon.SEV` its 4th
 * argument) records each stdin line in `out`, prefixed with that argument when `tagged`.
 */
function heldSink(tagged: boolean): { sink: SyslogSink; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sl-sys-'));
  const sock = join(dir, 'log');
  writeFileSync(sock, '');
  const out = join(dir, 'out');
  const rec = join(dir, 'rec.sh');
  writeFileSync(rec, tagged ? `#!/bin/sh\nwhile IFS= read -r l; do echo "$4 $l" >> ${out}; done\n` : `#!/bin/sh\ncat >> ${out}\n`);
  chmodSync(rec, 0o755);
  return { sink: SyslogSink.open({ socket: sock, command: rec, flavour: 'busybox', hold: true }), out };
}

t.test('syslog held: no logger until release, then the lines in order; bounded meanwhile', async (t) => {
  const { sink, out } = heldSink(true);
  sink.send('info', 'first');
  sink.send('warning', 'second');
  for (let i = 0; i < MAX_HELD_LINES + 10; i++) sink.send('info', `bulk ${i}`);
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(existsSync(out), 'nothing sent and no logger started while held');
  t.equal(sink.dropped, 12, 'past MAX_HELD_LINES, lines are dropped and counted');
  sink.release();
  sink.send('error', 'after');
  await sink.close();
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  // One logger per severity: the order holds within each, not across them.
  t.same(lines.filter((l) => !l.includes('bulk')).sort(), ['daemon.err after', 'daemon.info first', 'daemon.warning second']);
  t.equal(lines.filter((l) => l.startsWith('daemon.info'))[0], 'daemon.info first', 'held info lines in order');
  t.equal(lines.filter((l) => l.includes('bulk')).length, MAX_HELD_LINES - 2, 'the held lines that fit, all sent');
  t.equal(lines.find((l) => l.includes('bulk')), 'daemon.info bulk 0', 'in order');
});

t.test('syslog held: close() sends what was held', async (t) => {
  const { sink, out } = heldSink(false);
  sink.send('error', 'the start failed');
  await sink.close();
  t.equal(readFileSync(out, 'utf8'), 'the start failed\n');
});

t.test('config: log.max-size', async (t) => {
  const example = readFileSync(new URL('../../board/common/sitelink.conf.example', import.meta.url), 'utf8');
  const withSize = (v: string): string => example.replace(/^(\s*)max-size = \S+/m, `$1max-size = ${v}`);
  const line = example.split('\n').findIndex((l) => /^\s*max-size = /.test(l)) + 1;
  t.ok(line > 0, 'the example sets log.max-size');
  const load = (text: string) => loadConfigText('/etc/sitelink/sitelink.conf', text, { secrets: false });
  const d = load(example.replace(/^\s*max-size = .*\n/m, ''));
  t.equal(d.ok && d.config.gateway.log.maxKilobytes, 1024, 'default 1 MiB');
  const s = load(withSize('256kb'));
  t.equal(s.ok && s.config.gateway.log.maxKilobytes, 256);
  t.equal((load(withSize('2mb')) as { ok: true; config: { gateway: { log: { maxKilobytes: number } } } }).config.gateway.log.maxKilobytes, 2048);
  const bad = load(withSize('4kb'));
  t.equal(bad.ok, false);
  t.match(!bad.ok && bad.errors[0], { line, field: 'gateway.log.max-size', message: /16kb to 1gb/ });
});

t.test('engine drops: one line per period in which the counts rose', async (t) => {
  const { EngineDropWatch } = await import('../../firmware/src/daemon/engine-drops.ts');
  const w = new EngineDropWatch({ ikeDropped: 5n, eventsDropped: 0n });
  t.equal(w.check({ ikeDropped: 5n, eventsDropped: 0n }, 10), null, 'nothing new, nothing logged');
  const e = w.check({ ikeDropped: 1029n, eventsDropped: 2n }, 10);
  t.match(e, { level: 'warning', phase: 'daemon', step: 'ENGINE', data: { ikeDropped: 1024, eventsDropped: 2 } });
  t.match(e?.message, /1024 IKE datagram\(s\) .* and 2 SA event\(s\) not delivered in the last 10 s/);
  t.equal(w.check({ ikeDropped: 1029n, eventsDropped: 2n }, 10), null);
});
