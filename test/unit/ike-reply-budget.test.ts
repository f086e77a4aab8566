// The MM1 reply budget (issue 10, common/reply-budget.ts): token buckets in all
// and per source prefix, the memory of shed MM1s that lets a retransmission
// through, and the IKEv1 responder under a flood that spoofs the real peer's own
// address, all on a fake clock.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  MM1_BUDGET,
  ReplyBudget,
  ShedMemory,
  TokenBucket,
  sourcePrefix,
  type ReplyBudgetLimits,
} from '../../firmware/src/ike/common/reply-budget.ts';
import { peekFreshMm1 } from '../../firmware/src/ike/exchange/mm1-records.ts';
import { phase1Transform } from '../../firmware/src/ike/exchange/proposals.ts';
import { ROAMING, type Action, type Endpoint } from '../../firmware/src/ike/exchange/types.ts';
import { encodeMessage, ExchangeType, mainMode1 } from '../../firmware/src/ike/wire/index.ts';
import { Harness, NAT_PUBLIC } from './ike-exchange-harness.ts';

const LIMITS: ReplyBudgetLimits = {
  total: { perSecond: 100, burst: 200 },
  perSource: { perSecond: 10, burst: 20 },
  sources: 8,
  retransmits: { perSecond: 5, burst: 5 },
  memorySlots: 1024,
  minRetransmitMs: 400,
};

function budget(limits = LIMITS): { b: ReplyBudget; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return { b: new ReplyBudget(() => clock.t, limits), clock };
}

t.test('token bucket: a burst, then the sustained rate, never more than the burst', async (t) => {
  const b = new TokenBucket({ perSecond: 10, burst: 5 }, 0);
  let n = 0;
  while (b.take(0)) n++;
  t.equal(n, 5, 'the burst at once');
  t.notOk(b.take(50), 'half a token after 50 ms is none');
  t.ok(b.take(100), 'one token after 100 ms');
  t.equal(Math.floor(b.available(60_000)), 5, 'a quiet minute refills up to the burst only');
  t.equal(Math.floor(b.available(1)), 5, 'a clock that went back takes nothing away');
});

t.test('source prefixes: IPv4 /24, IPv6 /64 whatever the notation', async (t) => {
  t.equal(sourcePrefix('203.0.113.7'), '203.0.113');
  t.equal(sourcePrefix('203.0.113.250'), sourcePrefix('203.0.113.1'));
  t.not(sourcePrefix('203.0.114.1'), sourcePrefix('203.0.113.1'));
  t.equal(sourcePrefix('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2');
  t.equal(sourcePrefix('2001:db8::1'), '2001:db8:0:0');
  t.equal(sourcePrefix('2001:db8:0:0:ffff::9'), '2001:db8:0:0');
  t.equal(sourcePrefix('::1'), '0:0:0:0');
  t.equal(sourcePrefix('2001:db8:1:2::'), '2001:db8:1:2');
});

t.test('per prefix: a flood from one prefix spends its own budget, not the others\'', async (t) => {
  const { b, clock } = budget();
  let flood = 0;
  for (let i = 0; i < 1000; i++) if (b.admit(randomBytes(8), `198.51.100.${i % 200}`) !== 'shed') flood++;
  t.equal(flood, LIMITS.perSource.burst, 'one prefix gets its burst at once');
  t.equal(b.admit(randomBytes(8), '192.0.2.1'), 'answer', 'another prefix is answered meanwhile');
  let later = 0;
  for (let s = 0; s < 10; s++) {
    clock.t += 1000;
    for (let i = 0; i < 1000; i++) if (b.admit(randomBytes(8), '198.51.100.9') !== 'shed') later++;
  }
  // The retransmission lane takes nothing here: every cookie is fresh.
  t.equal(later, 10 * LIMITS.perSource.perSecond, 'then its rate per second');
});

t.test('in all: many prefixes together get at most the total budget', async (t) => {
  const { b, clock } = budget();
  let answered = 0;
  for (let i = 0; i < 5000; i++) if (b.admit(randomBytes(8), `10.${i % 250}.${(i >> 8) % 250}.1`) === 'answer') answered++;
  t.equal(answered, LIMITS.total.burst, 'the total burst at once');
  clock.t += 1000;
  answered = 0;
  for (let i = 0; i < 5000; i++) if (b.admit(randomBytes(8), `10.${i % 250}.${(i >> 8) % 250}.2`) === 'answer') answered++;
  t.equal(answered, LIMITS.total.perSecond, 'then the total rate');
});

/** Distinct cookies from a counter: the outcomes below do not depend on chance. */
let next = 0;
const cookie = (): Buffer => {
  const c = Buffer.alloc(8);
  c.writeUInt32BE(++next, 4);
  return c;
};

t.test('a retransmission of a shed MM1 is answered from its own lane; fresh cookies never are', async (t) => {
  const { b, clock } = budget({ ...LIMITS, memorySlots: 1 << 16 });
  const flood = (n: number): number => {
    let answered = 0;
    for (let i = 0; i < n; i++) if (b.admit(cookie(), '192.0.2.10') !== 'shed') answered++;
    return answered;
  };
  flood(100);
  const real = cookie();
  t.equal(b.admit(real, '192.0.2.10'), 'shed', 'the real MM1 drowns in the flood');
  clock.t += 100;
  flood(100);
  t.equal(b.admit(real, '192.0.2.10'), 'shed', 'a copy 100 ms later is not taken for a retransmission');
  clock.t += 1900;
  t.equal(flood(100), LIMITS.perSource.perSecond * 2 - 1, 'the flood gets only its refilled prefix budget');
  t.equal(b.admit(real, '192.0.2.10'), 'retransmit', 'its retransmission 2 s later is answered');
  t.equal(b.admit(Buffer.from(real), '192.0.2.11'), 'shed', 'the same cookie from another address is another MM1');
  // A flood that resends each cookie after the minimum wait only competes in the lane.
  const cookies = Array.from({ length: 100 }, cookie);
  for (const c of cookies) b.admit(c, '192.0.2.12');
  clock.t += 500;
  let lane = 0;
  for (const c of cookies) if (b.admit(c, '192.0.2.12') === 'retransmit') lane++;
  t.ok(lane <= LIMITS.retransmits.burst, `resent cookies get at most the lane's burst (${lane})`);
});

t.test('shed memory: remember, recognise, forget; the table size is a power of two', async (t) => {
  const m = new ShedMemory(1024, 7);
  const c = randomBytes(8);
  t.equal(m.shedAt(c, '192.0.2.1'), undefined, 'nothing before the first shed');
  m.remember(c, '192.0.2.1', 5);
  m.remember(c, '192.0.2.1', 9);
  t.equal(m.shedAt(c, '192.0.2.1'), 5, 'the first shed time is kept');
  t.equal(m.shedAt(c, '192.0.2.2'), undefined, 'another address is another entry');
  m.forget(c, '192.0.2.1');
  t.equal(m.shedAt(c, '192.0.2.1'), undefined, 'forgotten');
  t.throws(() => new ShedMemory(1000, 0), /power of two/);
  t.ok(MM1_BUDGET.memorySlots > 0 && (MM1_BUDGET.memorySlots & (MM1_BUDGET.memorySlots - 1)) === 0, 'the default is one');
});

const offer = { transforms: [phase1Transform({ encryption: 'aes128', integrity: 'sha1', dhGroup: 14 }, 28800)] };
const MM1 = encodeMessage(
  { initiatorCookie: Buffer.alloc(8), responderCookie: Buffer.alloc(8), exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
  mainMode1(offer),
);
/** A spoofed MM1: a fresh cookie each time, as a flooder sends them. */
const mm1 = (): Buffer => {
  const m = Buffer.from(MM1);
  cookie().copy(m, 0);
  return m;
};
const sends = (actions: Action[]): number => actions.filter((a) => a.kind === 'send').length;
const SPOOFED: Endpoint = { address: NAT_PUBLIC, port: 500 };

t.test('the header peek: fresh MM1s only, and only well-framed ones', async (t) => {
  const m = mm1();
  t.ok(peekFreshMm1(m), 'an MM1');
  const withCkyR = Buffer.from(m);
  withCkyR[15] = 1;
  t.notOk(peekFreshMm1(withCkyR), 'a responder cookie: past MM1');
  const encrypted = Buffer.from(m);
  encrypted[19] = 1;
  t.notOk(peekFreshMm1(encrypted), 'encrypted');
  t.notOk(peekFreshMm1(m.subarray(0, m.length - 1)), 'length field not the datagram\'s (left to the decoder)');
  t.notOk(peekFreshMm1(m.subarray(0, 27)), 'shorter than a header');
});

t.test("IKEv1 responder: a flood spoofing the peer's address is shed undecoded; the real peer gets through on a retransmission", async (t) => {
  // At 2,000 sheds/s an entry of the default memory (MM1_BUDGET.memorySlots) outlives gwA's
  // first retry (2 s) with probability exp(-4000/16384) = 0.78; with 2^18 slots 0.985, so
  // this test does not depend on chance (gwA's cookie is random).
  const h = new Harness({ mm1BudgetB: { ...LIMITS, memorySlots: 1 << 18 } });
  let flood = 0;
  let answered = 0;
  const spoof = (n: number): void => {
    for (let i = 0; i < n; i++, flood++) answered += sends(h.b.receive(mm1(), SPOOFED, 500));
  };
  spoof(500);
  t.equal(answered, LIMITS.perSource.burst, 'the flood gets the prefix burst');
  t.equal(h.b.counters.halfOpenRefused, 500 - answered, 'every other MM1 is counted');
  t.equal(h.b.counters.malformed + h.b.counters.unexpected, 0, 'as shed, not as anything else');
  const logs = h.b.receive(mm1(), SPOOFED, 500).filter((a) => a.kind === 'log');
  flood++;
  t.same(
    logs.map((a) => (a.kind === 'log' ? a.event.drop?.what : undefined)),
    ['MM1 over the reply budget'],
    'a shed MM1 is one drop for the log aggregation (no line of its own)',
  );
  // 2,000 spoofed MM1s a second, 20 before each datagram of gwA and 20 per 10 ms tick.
  const before = h.filter;
  h.filter = (d) => {
    if (d.from === 'A') spoof(20);
    return before(d);
  };
  h.bringUp();
  for (let ms = 0; ms < 60_000 && h.installs.A.length === 0; ms += 10) {
    spoof(20);
    h.advance(10);
  }
  t.same(h.failed, { A: [], B: [] }, 'no failure');
  t.equal(h.installs.A.length, 2, `gwA got its tunnel during the flood (after ${flood} spoofed MM1s)`);
  t.ok(h.b.counters.halfOpenRefused > flood / 2, `most of the flood was shed (${h.b.counters.halfOpenRefused} of ${flood})`);
  const records = h.b.indexSizes().answeredMm1s;
  t.ok(records < flood / 10, `records only of the MM1s answered (${records} for ${flood} MM1s)`);
});

t.test('IKEv1 responder: a configured peer has its own budget; the %any peer\'s sources have their prefix\'s', async (t) => {
  const h = new Harness({ mm1BudgetB: LIMITS });
  const gwA = h.b.peers()[0]!;
  const NEIGHBOUR: Endpoint = { address: NAT_PUBLIC.replace(/\.\d+$/, '.201'), port: 500 };
  const neighbour = { ...gwA, name: 'neighbour', remoteAddress: NEIGHBOUR.address };
  h.apply('B', h.b.setPeers([gwA, neighbour, { ...gwA, name: 'branch', remoteAddress: ROAMING }], []));
  let spoofed = 0;
  for (let i = 0; i < 500; i++) spoofed += sends(h.b.receive(mm1(), SPOOFED, 500));
  t.equal(spoofed, LIMITS.perSource.burst, "the flood spoofing gwA gets gwA's burst");
  t.equal(sends(h.b.receive(mm1(), NEIGHBOUR, 500)), 1, 'a configured peer in the same /24 is still answered');
  let roaming = 0;
  for (let i = 0; i < 500; i++) roaming += sends(h.b.receive(mm1(), { address: `203.0.113.${i % 250}`, port: 500 }, 500));
  t.equal(roaming, LIMITS.perSource.burst, 'sources of the %any peer share their /24\'s budget');
  t.equal(sends(h.b.receive(mm1(), { address: '203.0.114.1', port: 500 }, 500)), 1, 'another /24 is answered');
});
