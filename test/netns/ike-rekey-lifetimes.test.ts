// Rekeys driven by the lifetimes themselves under traffic (issue 17), no operator
// command: ESP lifetime 60 s and 1024 KB (the validator's minimums) and a session key
// refresh limit of 3 quick modes per main mode on both gateways. A slow ping runs from
// the start until a few seconds after a rekey by seconds; at its start a burst (about
// 2 MB each way at ~250 KB/s, so the 10% soft margin leaves the rekey ~0.4 s) crosses
// kilobyte rekeys, which reach both gateways' soft limits at once (the traffic is
// symmetric) and with the limit make both start a new main mode at once; the pair the
// burst left is then replaced by its lifetime in seconds. Every echo request of both
// must be answered. That collision used to leave no pair for seconds (each gateway
// deleted the other's new ISAKMP SA, then each retired a different duplicate pair):
// test/unit/ike-exchange-lifecycle.test.ts reproduces it deterministically. About 70 s.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { Sitelinkd, sitelinkdPath, writeGatewayConfig } from './ike-sitelinkd.ts';

const skip = labSkipReason();

/** The outbound SPIs of the pairs a daemon holds. */
async function outSpis(socket: string): Promise<number[]> {
  return (await controlRequest(socket, 'sas')).quickMode.map((q) => q.spiOut);
}

/** ping from `ns` to lanB with `args`; resolves with its whole output once it exits. */
function pingOutput(ns: string, args: string[]): Promise<string> {
  const p = spawn('ip', ['netns', 'exec', ns, 'ping', '-n', ...args, LAB.lanB], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve) => p.on('exit', () => resolve(out)));
}

/** ping from lanA to lanB; resolves with "transmitted/received". */
async function ping(ns: string, args: string[]): Promise<{ sent: number; got: number; out: string }> {
  const out = await pingOutput(ns, ['-q', ...args]);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  return { sent: Number(m?.[1] ?? -1), got: Number(m?.[2] ?? -2), out };
}

const BURST = 2000;

/** Sequence numbers as ranges: [3, 4, 5, 9] -> "3-5 9". */
function seqRanges(seqs: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < seqs.length; ) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j]! + 1) j++;
    out.push(i === j ? `${seqs[i]}` : `${seqs[i]}-${seqs[j]}`);
    i = j + 1;
  }
  return out.join(' ');
}

/**
 * The burst: BURST requests 4 ms apart, answers counted by sequence number. ping -c alone
 * gives the last reply only the larger of twice the largest RTT and the interval, and a
 * rekey and a new main mode at the burst's end can take longer than that: a late last
 * reply counted as lost (CI, 2026-12-05: 1999/2000). With a deadline (-w) ping waits for
 * BURST replies instead and sends more requests meanwhile, so the count alone no longer
 * tells a lost request from a late one; the sequence numbers do: each of the first BURST
 * must be answered.
 */
async function burstPing(ns: string): Promise<{ sent: number; unanswered: number[]; out: string }> {
  const out = await pingOutput(ns, ['-i', '0.004', '-s', '1000', '-w', '60', '-c', String(BURST)]);
  const answered = new Set([...out.matchAll(/ icmp_seq=(\d+) /g)].map((m) => Number(m[1])));
  const unanswered = Array.from({ length: BURST }, (_, i) => i + 1).filter((n) => !answered.has(n));
  const m = /(\d+) packets transmitted/.exec(out);
  return { sent: Number(m?.[1] ?? -1), unanswered, out: out.split('\n').slice(-4).join('\n') };
}

/**
 * A slow ping (5/s) in chunks of 25, back to back, until `stop()`: every chunk ends
 * normally, so stopping loses no request in flight. Each chunk waits for its 25
 * replies up to a deadline (-w): without it ping gives the last reply only twice the
 * largest RTT, and on a loaded machine a late reply at a chunk's end counted as lost.
 * -O -D: lost requests are named with a timestamp, for the comment on a failure.
 */
function slowPing(ns: string): { stop: () => void; done: Promise<{ sent: number; got: number; out: string }> } {
  let stopped = false;
  const done = (async () => {
    const sum = { sent: 0, got: 0, out: '' };
    while (!stopped) {
      const r = await ping(ns, ['-i', '0.2', '-c', '25', '-w', '15', '-O', '-D']);
      sum.sent += r.sent;
      sum.got += r.got;
      if (r.got !== r.sent) sum.out += r.out;
    }
    return sum;
  })();
  return { stop: () => (stopped = true), done };
}

t.test('rekeys by kilobytes, by seconds and new main modes under traffic: zero loss', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'rkl');
  const psk = `lifetimes-psk-${Math.random().toString(36).slice(2)}`;
  const common = { psk, esp: 'aes128gcm16:60s:1024kb', pfs: 'none' } as const;
  const confA = writeGatewayConfig(dir, 'gwA', {
    ...common,
    id: 'gwA.lab',
    peerName: 'gwB',
    remote: LAB.gwBWan,
    remoteId: 'gwB.lab',
    local: LAB.subnetA,
    remoteNet: LAB.subnetB,
    start: 'start',
  });
  const confB = writeGatewayConfig(dir, 'gwB', {
    ...common,
    id: 'gwB.lab',
    peerName: 'gwA',
    remote: LAB.natPublic,
    remoteId: 'gwA.lab',
    local: LAB.subnetB,
    remoteNet: LAB.subnetA,
    start: 'none',
  });
  for (const f of [confA.config, confB.config]) {
    writeFileSync(f, readFileSync(f, 'utf8').replace(/(\n {4}start = \w+)/, '$1\n    quick-mode-limit = 3'), { mode: 0o600 });
  }
  const b = await Sitelinkd.start(lab.ns('gwB'), confB);
  t.teardown(() => b.stop());
  const a = await Sitelinkd.start(lab.ns('gwA'), confA);
  t.teardown(() => a.stop());
  const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 20_000, 500);
  t.ok(up, 'the tunnel is up');
  if (!up) return t.comment(`gwA log:\n${a.logText().slice(-5000)}`);
  const mainModes = (): number => (a.logText().match(/"step":"MM1"/g) ?? []).length + (b.logText().match(/"step":"MM1"/g) ?? []).length;
  const mm0 = mainModes();
  const seen = new Set(await outSpis(a.files.socket));

  const slow = slowPing(lab.ns('lanA'));
  // 1. The burst: about 2 MB each way, the 1024 KB lifetime runs out twice on both sides.
  const burst = await burstPing(lab.ns('lanA'));
  for (const x of await outSpis(a.files.socket)) seen.add(x);
  const afterBurst = seen.size;
  t.ok(burst.sent >= BURST, `burst: ${BURST} echo requests sent (${burst.sent} in all)`);
  // On a loss, where it went goes into the assertion's own line (CI shows only that
  // line): which requests, and the ESP engines' non-zero drop counters (a hard limit
  // reached before the rekey was in place shows as deadSa, a pair deleted early as noSa
  // or badSpi).
  let lossDetail = '';
  if (burst.unanswered.length > 0) {
    const drops: string[] = [];
    for (const [name, d] of [['gwA', a], ['gwB', b]] as const) {
      const c = await controlRequest(d.files.socket, 'counters');
      const nonZero = Object.entries(c.esp.drops).filter(([, v]) => v !== '0');
      drops.push(`${name} ${nonZero.map(([k, v]) => `${k}=${v}`).join(',') || 'none'}`);
    }
    lossDetail = `: ${burst.unanswered.length} unanswered (${seqRanges(burst.unanswered)}); ESP drops ${drops.join('; ')}`;
    t.comment(`ping's summary:\n${burst.out}`);
  }
  t.same(burst.unanswered, [], `burst: every one of the ${BURST} answered across the kilobyte rekeys${lossDetail}`);
  const installs = (a.logText().match(/IPsec SA pair installed/g) ?? []).length;
  t.ok(installs >= 3, `kilobyte rekeys happened (gwA installed ${installs} pairs)`);

  // 2. The slow ping alone (well under 1024 KB) across the 60 s lifetime: a rekey by seconds.
  const before = new Set(await outSpis(a.files.socket));
  const renewed = await waitUntil(async () => (await outSpis(a.files.socket)).some((x) => !before.has(x)), 65_000, 1000);
  t.ok(renewed, 'the pair was replaced by its lifetime in seconds');
  // A few seconds more on the new pair (the old inbound SA lingers 3 s), then stop.
  await new Promise((r) => setTimeout(r, 4000));
  slow.stop();
  const s = await slow.done;
  t.ok(s.sent >= 150, `slow ping ran across all the rekeys (${s.sent} sent)`);
  t.equal(s.got, s.sent, `slow ping: every one answered across all the rekeys (${s.got}/${s.sent})`);
  for (const x of await outSpis(a.files.socket)) seen.add(x);
  t.ok(mainModes() > mm0, `new main modes under traffic (refresh limit 3): ${mainModes() - mm0}`);
  t.ok(seen.size > afterBurst, `distinct outbound SPIs on gwA: ${seen.size}`);
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'nothing crossed the NAT in clear');
  if (burst.unanswered.length > 0 || s.got !== s.sent) {
    const lost = s.out.split('\n').filter((l) => /no answer|transmitted/.test(l));
    t.comment(`slow ping chunks with losses:\n${lost.join('\n')}`);
    // The daemons' lines from 3 s before to 1 s after each request reported unanswered.
    const near = (text: string): string[] =>
      text.split('\n').filter((line) => {
        const at = Date.parse(/"time":"([^"]+)"/.exec(line)?.[1] ?? '') / 1000;
        return lost.some((l) => {
          const when = Number(/^\[(\d+\.\d+)\] no answer/.exec(l)?.[1] ?? NaN);
          return at >= when - 3 && at <= when + 1;
        });
      });
    t.comment(`gwA log near the losses:\n${near(a.logText()).join('\n')}\ngwB log:\n${near(b.logText()).join('\n')}`);
    t.comment(`gwA log:\n${a.logText().slice(-6000)}\ngwB log:\n${b.logText().slice(-6000)}`);
  }
});
