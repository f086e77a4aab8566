// Half-open main modes against spoofed MM1s (issues 18, 10). Anyone can send an
// MM1 with any source address, so half-open state is bounded without handing
// the slots to whoever sends first: an MM1 leaves no SA, only a compact record
// (exchange/mm1-records.ts) until MM3 echoes our cookie; records are per cookie
// and peer, bounded in bytes per peer and in all, the oldest of a full peer's
// share (of the largest share when the whole table is full) gives way, exchanges past MM2 (the initiator received our MM2: return path) are
// kept, and duplicates and unconfigured sources get a bounded number of replies
// (reflection).

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { phase1Transform } from '../../firmware/src/ike/exchange/proposals.ts';
import {
  HALF_OPEN_MAX,
  MM1_RECORD_OVERHEAD_BYTES,
  MM1_RECORDS_BYTES,
  MM1_RECORDS_PEER_BYTES,
  ROAMING,
  type Action,
  type Endpoint,
} from '../../firmware/src/ike/exchange/types.ts';
import { REPEAT_ANSWERS_MAX, RESPONSE_RATE } from '../../firmware/src/ike/common/response-limit.ts';
import { encodeMessage, ExchangeType, mainMode1 } from '../../firmware/src/ike/wire/index.ts';
import { Harness, NAT_PUBLIC } from './ike-exchange-harness.ts';

/** These tests are about what lies behind the MM1 reply budget (records, cookies, rate per
 * source): B answers every MM1, as a daemon that keeps up with the flood does. The budget
 * itself: ike-reply-budget.test.ts. */
const UNBUDGETED = { mm1BudgetB: null };

const offer = { transforms: [phase1Transform({ encryption: 'aes128', integrity: 'sha1', dhGroup: 14 }, 28800)] };
const mm1 = (cookie: Buffer = randomBytes(8)): Buffer =>
  encodeMessage(
    { initiatorCookie: cookie, responderCookie: Buffer.alloc(8), exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
    mainMode1(offer),
  );
const sends = (actions: Action[]): number => actions.filter((a) => a.kind === 'send').length;
/** A's MM3 (main mode with our responder cookie, from A). */
const isMm3 = (d: { from: string; data: Buffer }): boolean =>
  d.from === 'A' && d.data.readUInt8(18) === ExchangeType.MAIN && !d.data.subarray(8, 16).every((b) => b === 0) && (d.data.readUInt8(19) & 1) === 0;
/** gwA's public address, as a spoofer on the path to B would write it. */
const SPOOFED: Endpoint = { address: NAT_PUBLIC, port: 500 };
/** The bytes a record of one of these MM1s counts (the MM1, our MM2, the overhead). */
const RECORD = ((): number => {
  const h = new Harness(UNBUDGETED);
  h.b.receive(mm1(), SPOOFED, 500);
  return h.b.indexSizes().answeredMm1Bytes;
})();
/** How many of them one peer's share of the byte budget holds. */
const SHARE = Math.floor(MM1_RECORDS_PEER_BYTES / RECORD);

t.test('a flood aimed at the %any peer does not block a configured peer', async (t) => {
  const h = new Harness(UNBUDGETED);
  const gwA = h.b.peers()[0]!;
  // B also answers a roaming branch; it shares gwA's proposals, so every MM1 below is answered.
  h.apply('B', h.b.setPeers([gwA, { ...gwA, name: 'branch', remoteAddress: ROAMING }], []));
  // Spoofed sources: 203.0.113.x are nobody's configured address, so they fall to %any.
  const flood = (n: number): void => {
    for (let i = 0; i < n; i++) h.b.receive(mm1(), { address: `203.0.113.${i % 250}`, port: 500 }, 500);
  };
  flood(SHARE + 20);
  t.equal(h.b.status().length, 0, 'no SA for an MM1 alone');
  t.equal(h.b.indexSizes().answeredMm1s, SHARE, `at most ${SHARE} records of answered MM1s for the %any peer`);
  t.ok(h.b.indexSizes().answeredMm1Bytes <= MM1_RECORDS_PEER_BYTES, `within its share of ${MM1_RECORDS_PEER_BYTES} bytes`);
  t.equal(h.b.counters.halfOpenEvicted, 20, 'the oldest gave way to newer ones, counted');
  // Another share's worth between B's MM2 and gwA's MM3: the %any share gives way, not gwA's record.
  let flooded = false;
  h.filter = (d) => {
    if (isMm3(d) && !flooded) {
      flooded = true;
      flood(SHARE);
    }
    return d.data;
  };
  h.bringUp();
  t.ok(flooded, 'flooded between MM2 and MM3');
  t.same(h.failed, { A: [], B: [] }, 'the configured peer gwA negotiates while the flood is held');
  t.equal(h.installs.B.length, 2, 'and its tunnel is installed');
});

t.test('the records are bounded in bytes in all: the largest share gives way', async (t) => {
  const h = new Harness(UNBUDGETED);
  const gwA = h.b.peers()[0]!;
  const OTHER: Endpoint = { address: '192.0.2.50', port: 500 };
  h.apply(
    'B',
    h.b.setPeers([gwA, { ...gwA, name: 'branch', remoteAddress: ROAMING }, { ...gwA, name: 'other', remoteAddress: OTHER.address }], []),
  );
  for (let i = 0; i < SHARE; i++) h.b.receive(mm1(), { address: `203.0.113.${i % 250}`, port: 500 }, 500);
  // A large MM1 (64 transforms, the most we decode) is a record like any other, counted by its size.
  const big = encodeMessage(
    { initiatorCookie: randomBytes(8), responderCookie: Buffer.alloc(8), exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
    mainMode1({ transforms: Array.from({ length: 64 }, () => offer.transforms[0]!) }),
  );
  t.ok(big.length > 1500, `a ${big.length}-byte MM1`);
  t.ok(RECORD > mm1().length + MM1_RECORD_OVERHEAD_BYTES + 28, `a record counts the MM2 it keeps too (${RECORD} bytes)`);
  for (let i = 0; i < SHARE; i++) h.b.receive(mm1(), SPOOFED, 500);
  t.equal(h.b.counters.halfOpenEvicted, 0, 'two shares fit');
  t.equal(sends(h.b.receive(big, SPOOFED, 500)), 1, 'the large MM1 is answered');
  t.equal(h.b.status().length, 0, 'and leaves no SA, only a record');
  // Our MM2 is the same for both (one transform chosen).
  const bigCost = RECORD + big.length - mm1().length;
  const small = RECORD;
  t.ok(
    h.b.counters.halfOpenEvicted >= Math.floor((bigCost - small) / small) && h.b.counters.halfOpenEvicted <= Math.ceil(bigCost / small),
    `its record took the place of the oldest ones of its share, as many as its size needs (${h.b.counters.halfOpenEvicted})`,
  );
  const before = h.b.counters.retransmitted;
  t.equal(sends(h.b.receive(big, SPOOFED, 500)), 1, 'its retransmission is answered...');
  t.equal(h.b.counters.retransmitted, before + 1, '...as a repeat, from its record');
  const full = h.b.indexSizes().answeredMm1Bytes;
  t.ok(full <= MM1_RECORDS_BYTES && full > MM1_RECORDS_BYTES - 2 * bigCost, `two shares fill the table (${full} bytes)`);
  const evicted = h.b.counters.halfOpenEvicted;
  // A third peer's MM1s: once the table is full, the two full shares give way, not its records.
  const first = mm1();
  t.equal(sends(h.b.receive(first, OTHER, 500)), 1, 'the third peer is answered');
  for (let i = 0; i < 10; i++) h.b.receive(mm1(), OTHER, 500);
  t.ok(h.b.indexSizes().answeredMm1Bytes <= MM1_RECORDS_BYTES, `at most ${MM1_RECORDS_BYTES} bytes kept in all`);
  t.ok(h.b.counters.halfOpenEvicted > evicted, 'records of the full shares gave way');
  const resent = h.b.counters.retransmitted;
  t.equal(sends(h.b.receive(first, OTHER, 500)), 1, "the third peer's first MM1 again is answered...");
  t.equal(h.b.counters.retransmitted, resent + 1, '...as a repeat, from its record, which is still there');
});

t.test('MM1s spoofing the peer\'s own address do not lock it out', async (t) => {
  const h = new Harness(UNBUDGETED);
  // The attacker fills the whole records table first (before issue 18 this alone
  // refused gwA's genuine MM1 for 30 s)...
  for (let i = 0; i < SHARE + HALF_OPEN_MAX; i++) h.b.receive(mm1(), SPOOFED, 500);
  t.equal(h.b.status().length, 0, 'B holds no SA for them');
  t.equal(h.b.indexSizes().answeredMm1s, SHARE, `B holds ${SHARE} records of answered MM1s`);
  // ...and keeps flooding: before each datagram of the real exchange reaches B, half a
  // share's worth of fresh spoofed MM1s arrive (fewer than the records per round trip).
  const before = h.filter;
  h.filter = (d) => {
    if (d.from === 'A') for (let i = 0; i < SHARE / 2; i++) h.b.receive(mm1(), SPOOFED, 500);
    return before(d);
  };
  h.bringUp();
  t.same(h.failed, { A: [], B: [] }, 'no failure');
  t.equal(h.installs.A.length, 2, 'gwA got its tunnel during the flood');
  t.ok(h.b.counters.halfOpenEvicted > HALF_OPEN_MAX, `flood entries evicted (${h.b.counters.halfOpenEvicted})`);
  t.ok(h.b.status().filter((s) => s.state !== 'ESTABLISHED').length <= HALF_OPEN_MAX, 'still bounded');
});

t.test('an exchange past MM2 outlives any number of spoofed MM1s', async (t) => {
  const h = new Harness(UNBUDGETED);
  // Hold B's MM4: A has sent MM3 (it received MM2: return path proven) and waits.
  const held: Buffer[] = [];
  h.filter = (d) => {
    if (d.from === 'B' && d.data.readUInt8(18) === ExchangeType.MAIN && held.length === 0 && h.b.status().some((s) => s.state === 'MM4_SENT')) {
      held.push(d.data);
      return null;
    }
    return d.data;
  };
  h.bringUp();
  t.equal(held.length, 1, 'MM4 held back');
  for (let i = 0; i < HALF_OPEN_MAX * 10; i++) h.b.receive(mm1(), SPOOFED, 500);
  t.ok(h.b.status().some((s) => s.state === 'MM4_SENT'), 'the proven exchange is still there after 10 tables of spoofed MM1s');
  h.filter = (d) => d.data;
  h.advance(2000); // A retransmits MM3, B answers with MM4 again
  h.advance(2000);
  t.same(h.failed, { A: [], B: [] });
  t.equal(h.installs.A.length, 2, 'the exchange completes');
});

t.test('a main mode is built at MM3 from the record of its MM1 when the MM3 echoes our cookie', async (t) => {
  const h = new Harness(UNBUDGETED);
  let flooded = false;
  let forged = 0;
  h.filter = (d) => {
    if (isMm3(d) && !flooded) {
      flooded = true;
      for (let i = 0; i < HALF_OPEN_MAX * 3; i++) h.b.receive(mm1(), SPOOFED, 500);
      t.notOk(h.b.status().some((s) => s.cookies.startsWith(d.data.subarray(0, 8).toString('hex'))), 'no SA for gwA\'s exchange before its MM3');
      // A forged MM3 (the right initiator cookie, a guessed responder cookie) rebuilds nothing.
      const forgedMm3 = Buffer.from(d.data);
      forgedMm3.fill(0x5a, 8, 16);
      forged = sends(h.b.receive(forgedMm3, { address: NAT_PUBLIC, port: d.src.port }, 500));
    }
    return d.data;
  };
  h.bringUp();
  t.equal(forged, 0, 'a forged MM3 got no answer');
  t.same(h.failed, { A: [], B: [] }, 'no failure');
  t.equal(h.installs.A.length, 2, 'the tunnel came up');
  t.ok(h.logs.B.some((l) => /main mode state built from its MM1/.test(l)), 'B built the exchange from its record');
});

t.test('an MM3 whose MM1 record was evicted by more spoofed MM1s than the share holds builds no state', async (t) => {
  const h = new Harness(UNBUDGETED);
  let answer = null as Action[] | null;
  h.filter = (d) => {
    if (isMm3(d) && answer === null) {
      for (let i = 0; i < SHARE; i++) h.b.receive(mm1(), SPOOFED, 500);
      answer = h.b.receive(d.data, { address: NAT_PUBLIC, port: d.src.port }, 500);
      return null;
    }
    return d.data;
  };
  h.bringUp();
  const out = (answer ?? []).flatMap((a) => (a.kind === 'send' ? [a.data] : []));
  // Only an INVALID-COOKIE notify (ike-responder-cookie.test.ts), no MM4.
  t.equal(out.length, 1, 'one datagram back');
  t.equal(out[0]?.readUInt8(18), ExchangeType.INFORMATIONAL, 'an informational (INVALID-COOKIE), not an MM4');
  t.equal(h.b.status().length + h.installs.A.length, 0, 'no SA on B, no tunnel');
});

t.test('the same cookie from another address or port is not that half-open exchange', async (t) => {
  const h = new Harness(UNBUDGETED);
  const cookie = randomBytes(8);
  t.equal(sends(h.b.receive(mm1(cookie), SPOOFED, 500)), 1, 'MM2 for the first');
  t.equal(sends(h.b.receive(mm1(cookie), { address: NAT_PUBLIC, port: 4444 }, 500)), 0, 'a copy from another port gets nothing');
  t.equal(h.b.counters.unexpected, 1, 'counted as unexpected');
});

t.test('reflection: identical MM1 copies get at most a few MM2s', async (t) => {
  const h = new Harness(UNBUDGETED);
  const copy = mm1();
  let out = 0;
  const mm2s: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    const actions = h.b.receive(copy, SPOOFED, 500);
    out += sends(actions);
    for (const a of actions) if (a.kind === 'send') mm2s.push(a.data);
    if (i % 100 === 99) h.clock.t += 1000; // spread over 10 s, so the rate limit alone would allow more
  }
  t.ok(out <= 1 + REPEAT_ANSWERS_MAX, `1000 copies in, ${out} MM2s out (at most 1 + ${REPEAT_ANSWERS_MAX})`);
  t.ok(out >= 2, 'a retransmission is still answered');
  t.equal(h.b.counters.repliesLimited, 1000 - out, 'the rest counted');
  t.ok(mm2s.every((m) => m.equals(mm2s[0]!)), 'each repeat is the first MM2, byte for byte (kept in the record)');
});

t.test('reflection: duplicates of later requests (MM3) are capped too', async (t) => {
  const h = new Harness(UNBUDGETED);
  const mm3s: { data: Buffer; src: Endpoint }[] = [];
  // Let MM3 through once, then nothing more from A: B stays at MM4_SENT, MM3 its last request.
  h.filter = (d) => {
    if (d.from !== 'A') return d.data;
    if (mm3s.length > 0) return null;
    if (!d.data.subarray(8, 16).every((b) => b === 0)) mm3s.push({ data: d.data, src: d.src });
    return d.data;
  };
  h.bringUp();
  t.ok(h.b.status().some((s) => s.state === 'MM4_SENT'), 'B waits for MM5');
  t.equal(mm3s.length, 1, 'captured MM3');
  let out = 0;
  for (let i = 0; i < 500; i++) out += sends(h.b.receive(mm3s[0]!.data, { address: NAT_PUBLIC, port: mm3s[0]!.src.port }, 500));
  t.ok(out <= REPEAT_ANSWERS_MAX, `500 MM3 copies, ${out} MM4s out`);
});

t.test('reflection: MM2s toward an address no peer is configured at are rate-limited', async (t) => {
  const h = new Harness(UNBUDGETED);
  const gwA = h.b.peers()[0]!;
  h.apply('B', h.b.setPeers([gwA, { ...gwA, name: 'branch', remoteAddress: ROAMING }], []));
  const victim = { address: '192.0.2.77', port: 500 };
  let out = 0;
  for (let i = 0; i < 1000; i++) out += sends(h.b.receive(mm1(), victim, 500));
  t.ok(out <= RESPONSE_RATE.burst, `1000 MM1s in one instant, ${out} MM2s out (burst ${RESPONSE_RATE.burst})`);
  let later = 0;
  for (let s = 0; s < 10; s++) {
    h.clock.t += 1000;
    for (let i = 0; i < 200; i++) later += sends(h.b.receive(mm1(), victim, 500));
  }
  t.ok(later <= 10 * RESPONSE_RATE.perSecond + 1, `then ${later} MM2s in 10 s for 2000 MM1s (${RESPONSE_RATE.perSecond}/s)`);
  t.equal(h.b.counters.halfOpenRefused, 3000 - out - later, 'the unanswered MM1s are counted');
  // Another source is not affected by the victim's budget.
  t.equal(sends(h.b.receive(mm1(), { address: '192.0.2.78', port: 500 }, 500)), 1, 'another source is answered');
});
