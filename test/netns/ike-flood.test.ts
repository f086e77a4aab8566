// Hostile IKE traffic against an established tunnel (two sitelinkd across the
// NAT): MM1s at 2,000/s with fresh cookies from a few source ports of gwA's namespace (the
// NAT maps them onto the peer's public address, so each one looks like a new attempt by the
// configured peer), plus truncated/garbage datagrams to UDP 500 and 4500. While this runs
// lanA pings lanB; no ping may be lost. gwB answers such MM1s only within gwA's reply
// budget and sheds the rest unanswered (counted), so its half-open records stay within
// gwA's share (MM1_RECORDS_PEER_BYTES) and none is evicted; it drops the malformed
// datagrams (counted, the first few logged), and the established peer must still be able
// to rekey.
// log-flood.test.ts floods from spoofed sources and checks the log's budget.
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { runIn } from '../lib/proc.ts';
import { waitUntil } from '../lib/wait.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { encodeMessage, ExchangeType, mainMode1 } from '../../firmware/src/ike/wire/index.ts';
import { phase1Transform } from '../../firmware/src/ike/exchange/proposals.ts';
import { MM1_RECORDS_PEER_BYTES } from '../../firmware/src/ike/exchange/types.ts';
import { sitelinkdPath, labGatewayPair, startLabTunnel } from './ike-sitelinkd.ts';
import { FLOODER, runFlooder } from '../lib/ike-flooder.ts';

const skip = labSkipReason();

// Sends each [srcPort, dstPort, hex] of argv[2] (JSON) to argv[1], one socket per source
// port, one datagram per millisecond or so (all at once would overflow gwB's receive buffer).
const SENDER = `
const dgram = require('node:dgram');
const list = JSON.parse(process.argv[2]);
let left = list.length;
list.forEach(([sport, dport, hex], k) => setTimeout(() => {
  const s = dgram.createSocket('udp4');
  s.bind(sport, () =>
    s.send(Buffer.from(hex, 'hex'), dport, process.argv[1], (e) => {
      if (e) throw e;
      s.close();
      if (--left === 0) process.exit(0);
    }),
  );
}, k));
`;

t.test('MM1 flood and malformed datagrams: tunnel keeps carrying traffic', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'fl');
  const psk = `flood-psk-${Math.random().toString(36).slice(2)}`;
  const { a: confA, b: confB } = labGatewayPair(dir, psk);
  const { a, b, up } = await startLabTunnel(t, lab, { a: confA, b: confB });
  t.ok(up, 'the tunnel is up');
  if (!up) return;
  const spisBefore = (await controlRequest(b.files.socket, 'sas')).quickMode.map((q) => q.spiIn);

  const count = 75; // 15 s at 0.2 s
  const ping = spawn('ip', ['netns', 'exec', lab.ns('lanA'), 'ping', '-n', '-q', '-i', '0.2', '-W', '2', '-c', String(count), LAB.lanB], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pingOut = '';
  ping.stdout.setEncoding('utf8').on('data', (d: string) => { pingOut += d; });
  const pingDone = new Promise<number | null>((resolve) => ping.on('exit', (code) => resolve(code)));
  t.teardown(() => { if (ping.exitCode === null) ping.kill('SIGKILL'); });

  const offer = { transforms: [phase1Transform({ encryption: 'aes128', integrity: 'sha256', dhGroup: 14 }, 28800)] };
  const mm1 = (): string =>
    encodeMessage(
      { initiatorCookie: randomBytes(8), responderCookie: Buffer.alloc(8), exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
      mainMode1(offer),
    ).toString('hex');
  // MM1s at 2,000/s (test/lib/ike-flooder.ts: a fresh cookie each) from gwA's own address.
  // gwB answers fresh MM1s only within gwA's reply budget (ike/common/reply-budget.ts: a
  // burst, then so many a second) and sheds the rest from the header alone, so the flood
  // cannot fill gwA's share of half-open records (MM1_RECORDS_PEER_BYTES) any more: wait
  // until gwB has shed a few seconds' worth (however fast a loaded host lets it read).
  const mm1Flood = runFlooder(t, lab.ns('gwA'), FLOODER, [LAB.gwBWan, '40000', '2000', mm1(), LAB.gwAWan, '4']);
  const SHED = 2000;
  const shedding = await waitUntil(async () => (await controlRequest(b.files.socket, 'counters')).ike.halfOpenRefused > SHED, 40_000, 250);
  mm1Flood.proc.kill('SIGTERM');
  t.equal(await mm1Flood.done, 0, `flooded ${mm1Flood.out().trim()} (${mm1Flood.err().trim()})`);
  t.ok(shedding, `gwB shed more than ${SHED} MM1s over gwA's reply budget`);
  const garbage: [number, number, string][] = [];
  for (let i = 0; i < 30; i++) {
    garbage.push([22000 + i, 500, randomBytes(1 + (i * 13) % 90).toString('hex')]);                        // random bytes on 500
    garbage.push([22100 + i, 500, mm1().slice(0, 40 + 2 * i)]);                                              // truncated ISAKMP
    garbage.push([22200 + i, 4500, `00000000${randomBytes(10 + i).toString('hex')}`]);                       // non-ESP marker + garbage
    garbage.push([22300 + i, 4500, `00000000${mm1().slice(0, 60)}ffff`]);                                    // bad length behind the marker
  }
  // ESP-in-UDP for an SPI nobody has: the engine drops and counts it.
  const bogusEsp: [number, number, string][] = [];
  for (let i = 0; i < 10; i++) bogusEsp.push([22400 + i, 4500, `deadbe${(0x10 + i).toString(16)}00000001${randomBytes(48).toString('hex')}`]);
  garbage.push(...bogusEsp);
  const sent = await runIn(lab.ns('gwA'), process.execPath, ['-e', SENDER, LAB.gwBWan, JSON.stringify(garbage)], {
    timeoutMs: 20_000,
  });
  t.equal(sent.code, 0, `sent ${garbage.length} malformed datagrams from gwA's namespace (${sent.stderr.trim()})`);

  // The log shows the first few drops in full and summarises the rest (log/rate-limit.ts);
  // the counters below count each one.
  const malformed = (b.logText().match(/dropped malformed datagram/g) ?? []).length;
  t.ok(malformed >= 1 && malformed <= 10, `gwB logged the first malformed datagrams in full, not each one (${malformed} lines)`);
  t.ok(b.running, 'gwB is still running');
  // What an operator sees: sitelinkctl counters.
  const counters = await controlRequest(b.files.socket, 'counters');
  t.ok(counters.ike.malformed >= 60, `counters: IKE datagrams dropped as malformed (${counters.ike.malformed})`);
  t.ok(counters.ike.halfOpenRefused > SHED, `counters: MM1s shed over the reply budget (${counters.ike.halfOpenRefused})`);
  // What the budget let through stayed within gwA's share of records: none had to be evicted.
  t.equal(counters.ike.halfOpenEvicted, 0, 'counters: no half-open record evicted');
  t.ok(BigInt(counters.esp.drops.badSpi) >= BigInt(bogusEsp.length), `counters: ESP for unknown SPIs dropped (${counters.esp.drops.badSpi})`);
  t.equal(counters.esp.drops.icv, '0', 'counters: no ICV failure on the real tunnel');

  // The established ISAKMP SA is unaffected by the full half-open table: a rekey still works.
  const rk = await controlRequest(a.files.socket, 'rekey', { peer: 'gwB' });
  t.match(rk.message, /rekeying/, 'gwA rekeys during the flood');
  const rekeyed = await waitUntil(async () => {
    const q = (await controlRequest(b.files.socket, 'sas')).quickMode;
    return q.length >= 1 && q.some((x) => !spisBefore.includes(x.spiIn));
  }, 15_000, 250);
  t.ok(rekeyed, 'gwB installed a new IPsec SA pair despite the flood');

  const code = await pingDone;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(pingOut);
  t.equal(Number(m?.[2]), count, `all ${count} pings answered during the flood (${m?.[0] ?? pingOut.trim()})`);
  t.equal(code, 0, 'ping exited 0');
  const st = await controlRequest(a.files.socket, 'status');
  t.equal(st.peers.find((p) => p.name === 'gwB')?.state, 'up', 'gwA still reports the tunnel up');
  const c = await lab.counters();
  t.equal(c.leak?.packets, 0, 'nothing crossed the NAT in clear');
});
