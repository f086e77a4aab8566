// A gateway under a flood from spoofed sources cannot be made to grow its log,
// loses no datagram uncounted, and keeps its tunnels (issue 10).
//
// The NAT namespace (the "internet" next to gwB) owns 64 addresses of
// 203.0.113.0/24 that no peer has, and sends from them for a fixed time, paced:
// MM1s with fresh cookies, random and truncated ISAKMP on UDP 500, non-ESP
// marker + garbage on UDP 4500, and ESP-in-UDP for SPIs nobody has. Meanwhile
// lanA pings lanB across the tunnel (none may be lost), then gwA is killed and
// started again, and must get its tunnel back while the flood still runs.
// Afterwards:
//   - the negotiation log grew by less than LOG_BUDGET bytes (rate limit: the
//     first few of each kind in full, one summary per 10 s),
//   - gwB's counters account for every datagram sent (kernel receive-buffer
//     drops in gwB's namespace are added, and reported),
//   - sitelinkd is alive.
import t from 'tap';
import { existsSync, statSync } from 'node:fs';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { runIn, runOk } from '../lib/proc.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { encodeMessage, ExchangeType, mainMode1 } from '../../firmware/src/ike/wire/index.ts';
import { phase1Transform } from '../../firmware/src/ike/exchange/proposals.ts';
import { Sitelinkd, labGatewayPair } from './ike-sitelinkd.ts';
import { runFlooder } from '../lib/ike-flooder.ts';
import { sitelinkdPath } from './ike-sitelinkd.ts';

const skip = labSkipReason();

/** What the flood may add to the log, summaries included (one line per datagram would be ~8 MB). */
const LOG_BUDGET = 64 * 1024;
const FLOOD_MS = 12_000;
const RATE = 3000; // datagrams per second, paced so that the veth and socket buffers keep up
const SPOOFED = 64;

// argv: target, duration ms, rate, MM1 hex, then the source addresses. Round robin
// over the kinds; prints the counts per kind as JSON when done.
const FLOODER = `
const dgram = require('node:dgram');
const { randomBytes } = require('node:crypto');
const [target, msArg, rateArg, mm1Hex, ...sources] = process.argv.slice(1);
const ms = Number(msArg), rate = Number(rateArg);
const mm1 = Buffer.from(mm1Hex, 'hex');
const socks = [];
let ready = 0;
for (const a of sources) {
  const s = dgram.createSocket('udp4');
  s.bind(0, a, () => { if (++ready === sources.length) start(); });
  socks.push(s);
}
const sent = { mm1: 0, malformed500: 0, malformed4500: 0, esp: 0 };
let i = 0, inflight = 0;
function one() {
  const s = socks[i % socks.length];
  const kind = i % 4;
  i++;
  let port = 500, data;
  if (kind === 0) { data = Buffer.from(mm1); randomBytes(8).copy(data, 0); sent.mm1++; }
  else if (kind === 1) {
    data = (i % 3 === 0) ? mm1.subarray(0, 20 + (i % 60)) : randomBytes(1 + (i % 200));
    if (data.length >= 28 && i % 3 !== 0) data[17] = 0x10;
    sent.malformed500++;
  }
  else if (kind === 2) { port = 4500; data = Buffer.concat([Buffer.alloc(4), randomBytes(10 + (i % 100))]); sent.malformed4500++; }
  else { port = 4500; data = Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0x10 + (i % 16), 0, 0, 0, 1]), randomBytes(64)]); sent.esp++; }
  inflight++;
  s.send(data, port, target, (e) => { inflight--; if (e) { console.error(String(e)); process.exit(1); } });
}
function start() {
  const t0 = Date.now();
  let due = 0;
  const timer = setInterval(() => {
    const elapsed = Date.now() - t0;
    if (elapsed >= ms) {
      clearInterval(timer);
      const end = () => { if (inflight > 0) return setTimeout(end, 10); console.log(JSON.stringify(sent)); process.exit(0); };
      return end();
    }
    const target = Math.floor((elapsed * rate) / 1000);
    while (due < target && inflight < 256) { one(); due++; }
  }, 5);
}
`;

interface Sent { mm1: number; malformed500: number; malformed4500: number; esp: number }

/** UDP datagrams the kernel dropped in a namespace for lack of receive buffer (RFC 4113 udpInErrors cause). */
async function udpRcvbufErrors(ns: string): Promise<number> {
  const r = await runOk('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp']);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('RcvbufErrors')] ?? 0);
}

t.test(
  'flood from spoofed sources: log under budget, every datagram counted, tunnel and reconnects unaffected',
  { skip: skip ?? false },
  async (t) => {
    if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
    const { lab, dir } = await labForTest(t, 'lf');
    const psk = `logflood-${Math.random().toString(36).slice(2)}`;
    const { a: confA, b: confB } = labGatewayPair(dir, psk);

    // The spoofed sources: addresses in the NAT's namespace, routed from gwB like the internet.
    const sources = Array.from({ length: SPOOFED }, (_, k) => `203.0.113.${k + 1}`);
    await runOk('ip', ['-n', lab.ns('nat'), '-batch', '-'], { input: sources.map((a) => `addr add ${a}/32 dev out`).join('\n') + '\n' });
    await runOk('ip', ['-n', lab.ns('gwB'), 'route', 'add', '203.0.113.0/24', 'via', LAB.natPublic]);

    const b = await Sitelinkd.start(lab.ns('gwB'), confB);
    t.teardown(() => b.stop());
    let a = await Sitelinkd.start(lab.ns('gwA'), confA);
    t.teardown(() => a.stop());
    const up = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 20_000, 500);
    t.ok(up, 'the tunnel is up');
    if (!up) return;

    const before = await controlRequest(b.files.socket, 'counters');
    const kernelBefore = await udpRcvbufErrors(lab.ns('gwB'));
    const logBefore = statSync(b.files.log).size;

    const offer = { transforms: [phase1Transform({ encryption: 'aes128', integrity: 'sha256', dhGroup: 14 }, 28800)] };
    const mm1 = encodeMessage(
      { initiatorCookie: Buffer.alloc(8, 1), responderCookie: Buffer.alloc(8), exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
      mainMode1(offer),
    ).toString('hex');
    const flood = runFlooder(t, lab.ns('nat'), FLOODER, [LAB.gwBWan, String(FLOOD_MS), String(RATE), mm1, ...sources]);
    const flooder = flood.proc;

    // Tunnel traffic during the flood: 20 pings over 4 s, none lost.
    const count = 20;
    const ping = await runIn(lab.ns('lanA'), 'ping', ['-n', '-q', '-i', '0.2', '-W', '2', '-c', String(count), LAB.lanB], {
      timeoutMs: 20_000,
    });
    const m = /(\d+) packets transmitted, (\d+) received/.exec(ping.stdout);
    t.equal(Number(m?.[2]), count, `all ${count} pings answered during the flood (${m?.[0] ?? ping.stdout.trim()})`);

    // A legitimate peer reconnects during the flood: gwA crashes (no Deletes) and starts again.
    a.kill('SIGKILL');
    await waitUntil(() => !a.running, 5000, 50);
    a = await Sitelinkd.start(lab.ns('gwA'), confA);
    const back = await waitUntil(() => lab.ping('lanA', LAB.lanB, 1), 15_000, 250);
    t.ok(back, 'gwA restarted and got its tunnel back');
    t.equal(flooder.exitCode, null, 'the reconnect happened while the flood was running');

    const code = await flood.done;
    t.equal(code, 0, `flooder finished (${flood.err().trim()})`);
    const sent = JSON.parse(flood.out().trim() || '{}') as Sent;
    const ikeSent = sent.mm1 + sent.malformed500 + sent.malformed4500;
    t.ok(ikeSent + sent.esp > RATE, `sent ${JSON.stringify(sent)}`);

    t.ok(b.running, `gwB is alive after the flood${b.running ? '' : `: ${b.recentOutput()}`}`);
    // Every datagram is counted by sitelinkd or by the kernel (gwB's receive buffers).
    let after = await controlRequest(b.files.socket, 'counters');
    const counted = async (): Promise<{ ike: number; esp: number; kernel: number }> => {
      after = await controlRequest(b.files.socket, 'counters');
      // Random bytes can look like a fragment (next payload 132) or a well-formed header for no SA.
      const ike =
        (['malformed', 'unexpected', 'fragmentsDropped', 'halfOpenRefused'] as const).reduce(
          (n, k) => n + after.ike[k] - before.ike[k],
          0,
        ) + Number(BigInt(after.esp.ike.dropped) - BigInt(before.esp.ike.dropped));
      const esp = Number(
        BigInt(after.esp.drops.badSpi) -
          BigInt(before.esp.drops.badSpi) +
          BigInt(after.esp.drops.malformed) -
          BigInt(before.esp.drops.malformed),
      );
      return { ike, esp, kernel: (await udpRcvbufErrors(lab.ns('gwB'))) - kernelBefore };
    };
    // The last datagrams may still be in the engine's queue to the daemon.
    let c = await counted();
    await waitUntil(
      async () => {
        c = await counted();
        return c.ike + c.esp + c.kernel >= ikeSent + sent.esp;
      },
      5000,
      200,
    );
    t.equal(
      c.ike + c.esp + c.kernel,
      ikeSent + sent.esp,
      `every datagram accounted for: IKE ${c.ike} of ${ikeSent} (malformed, no peer or SA, bad fragment, engine queue full), ` +
        `ESP ${c.esp} of ${sent.esp} (unknown SPI, malformed), kernel buffer drops ${c.kernel}`,
    );
    t.equal(after.esp.drops.icv, before.esp.drops.icv, 'no ICV failure on the real tunnel');

    // The log: summaries come when each 10 s window closes.
    const summarised = await waitUntil(
      () =>
        /dropped [\d,]+ MM1 from unconfigured addresses in the last \d+ s \(5 logged in full\); first from 203\.0\.113\.\d+/.test(
          b.logText(),
        ),
      15_000,
      250,
    );
    t.ok(summarised, 'the MM1 flood is summarised in the log');
    t.match(b.logText(), /dropped [\d,]+ malformed datagrams from unconfigured addresses in the last \d+ s/, 'malformed datagrams too');
    const grown = statSync(b.files.log).size - logBefore;
    t.ok(grown < LOG_BUDGET, `the log grew by ${grown} bytes for ${ikeSent + sent.esp} datagrams (budget ${LOG_BUDGET})`);
    const full = (b.logText().match(/dropped: no peer configured for 203\.0\.113\./g) ?? []).length;
    t.ok(full >= 5 && full <= 5 * 4, `MM1 drops logged in full: ${full} (5 per 10 s window)`);
    t.ok(after.log !== undefined && after.log.suppressed > 0, `counters show the lines left out (${after.log?.suppressed})`);

    t.ok(b.running, 'gwB is still running');
    const st = await controlRequest(a.files.socket, 'status');
    t.equal(st.peers.find((p) => p.name === 'gwB')?.state, 'up', 'gwA reports the tunnel up');
    const lc = await lab.counters();
    t.equal(lc.leak?.packets, 0, 'nothing crossed the NAT in clear');
  },
);
