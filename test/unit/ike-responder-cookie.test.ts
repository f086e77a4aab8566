// The IKEv1 responder cookie derived from a rotating secret (exchange/responder-cookie.ts,
// RFC 2408 §2.5.3), and what it is for (issue 10): an MM3 whose MM1 record a flood
// evicted is still recognised as the answer to our MM2 and gets INVALID-COOKIE
// (RFC 2408 §3.14.1), on which a sitelink initiator starts main mode again at once,
// at most once per MAIN_MODE_RESTART_MS per peer.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { COOKIE_WINDOW_MS, MAIN_MODE_RESTART_MS, ResponderCookies } from '../../firmware/src/ike/exchange/responder-cookie.ts';
import { MM1_RECORDS_PEER_BYTES, type Endpoint } from '../../firmware/src/ike/exchange/types.ts';
import { phase1Transform } from '../../firmware/src/ike/exchange/proposals.ts';
import { decodeMessage, encodeMessage, ExchangeType, NotifyType, PayloadType, mainMode1 } from '../../firmware/src/ike/wire/index.ts';
import { Harness, NAT_PUBLIC } from './ike-exchange-harness.ts';

/** These tests are about what lies behind the MM1 reply budget (records, cookies, rate per
 * source): B answers every MM1, as a daemon that keeps up with the flood does. The budget
 * itself: ike-reply-budget.test.ts. */
const UNBUDGETED = { mm1BudgetB: null };

const peer: Endpoint = { address: '198.51.100.1', port: 500 };

function cookies(): { c: ResponderCookies; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return { c: new ResponderCookies(() => clock.t, (n) => randomBytes(n)), clock };
}

t.test('the cookie is bound to the initiator cookie, the address and the port', async (t) => {
  const { c } = cookies();
  const ckyI = randomBytes(8);
  const ckyR = c.make(ckyI, peer);
  t.equal(ckyR.length, 8);
  t.notOk(ckyR.every((b) => b === 0), 'never zero');
  t.same(c.make(ckyI, peer), ckyR, 'the same inputs in the same window give the same cookie');
  t.ok(c.isOurs(ckyI, ckyR, peer), 'ours');
  t.notOk(c.isOurs(ckyI, ckyR, { ...peer, address: '198.51.100.2' }), 'not from another address');
  t.notOk(c.isOurs(ckyI, ckyR, { ...peer, port: 4500 }), 'not from another port');
  t.notOk(c.isOurs(randomBytes(8), ckyR, peer), 'not for another initiator cookie');
  const flipped = Buffer.from(ckyR);
  flipped[3]! ^= 1;
  t.notOk(c.isOurs(ckyI, flipped, peer), 'not a cookie one bit off');
  t.notOk(cookies().c.isOurs(ckyI, ckyR, peer), 'another secret (another daemon, a restart) does not know it');
});

t.test('windows: the previous secret is still accepted, the one before is not', async (t) => {
  const { c, clock } = cookies();
  const ckyI = randomBytes(8);
  clock.t = 10 * COOKIE_WINDOW_MS; // the start of a window
  const ckyR = c.make(ckyI, peer);
  clock.t += COOKIE_WINDOW_MS - 1;
  t.ok(c.isOurs(ckyI, ckyR, peer), 'to the end of its window');
  clock.t += 1;
  const rotated = c.make(ckyI, peer);
  t.not(rotated.toString('hex'), ckyR.toString('hex'), 'the next window makes other cookies (new secret)');
  t.ok(c.isOurs(ckyI, ckyR, peer), 'the rotated-out secret is still accepted for one window');
  t.ok(c.isOurs(ckyI, rotated, peer), 'and the new one');
  clock.t += COOKIE_WINDOW_MS;
  t.notOk(c.isOurs(ckyI, ckyR, peer), 'two windows later: no longer ours (wrong window)');
  t.ok(c.isOurs(ckyI, rotated, peer), 'the one from the window before still is');
  clock.t += 5 * COOKIE_WINDOW_MS;
  t.notOk(c.isOurs(ckyI, rotated, peer), 'after a jump of several windows nothing old is accepted');
  c.clear();
  t.notOk(c.isOurs(ckyI, c.make(ckyI, peer).fill(0x5a), peer), 'clear forgets the secrets');
});

const offer = { transforms: [phase1Transform({ encryption: 'aes128', integrity: 'sha1', dhGroup: 14 }, 28800)] };
const spoofedMm1 = (): Buffer =>
  encodeMessage(
    { initiatorCookie: randomBytes(8), responderCookie: Buffer.alloc(8), exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
    mainMode1(offer),
  );
const SPOOFED: Endpoint = { address: NAT_PUBLIC, port: 500 };
/** A's MM3 (main mode with our responder cookie, from A, not encrypted). */
const isMm3 = (d: { from: string; data: Buffer }): boolean =>
  d.from === 'A' && d.data.readUInt8(18) === ExchangeType.MAIN && !d.data.subarray(8, 16).every((b) => b === 0) && (d.data.readUInt8(19) & 1) === 0;
const isInvalidCookie = (d: { from: string; data: Buffer }): boolean => {
  if (d.from !== 'B' || d.data.readUInt8(18) !== ExchangeType.INFORMATIONAL) return false;
  const m = decodeMessage(d.data);
  return m.ok && !m.value.encrypted && m.value.payloads.some((p) => p.type === PayloadType.NOTIFY && p.notifyType === NotifyType.INVALID_COOKIE);
};

t.test('an MM3 whose record a flood evicted gets INVALID-COOKIE, and the initiator starts again at once', async (t) => {
  const h = new Harness(UNBUDGETED);
  // How many spoofed MM1s fill gwA's share on B.
  h.b.receive(spoofedMm1(), SPOOFED, 500);
  const share = Math.ceil(MM1_RECORDS_PEER_BYTES / h.b.indexSizes().answeredMm1Bytes);
  let flooded = 0;
  let notified = 0;
  h.filter = (d) => {
    if (isMm3(d) && flooded === 0) {
      flooded++;
      for (let i = 0; i < share; i++) h.b.receive(spoofedMm1(), SPOOFED, 500);
    }
    if (isInvalidCookie(d)) notified++;
    return d.data;
  };
  h.bringUp();
  t.equal(flooded, 1, "gwA's record was flooded out between MM2 and MM3");
  t.equal(notified, 1, 'B answered the MM3 with INVALID-COOKIE');
  t.equal(h.b.counters.invalidCookieSent, 1, 'counted on B');
  t.equal(h.a.counters.mainModeRestarts, 1, 'A started a new main mode, counted');
  t.equal(h.a.counters.retransmitted, 0, 'at once: not one retransmission');
  t.same(h.failed, { A: [], B: [] }, 'no failure');
  t.equal(h.installs.A.length, 2, 'the tunnel came up on the second main mode');
  t.equal(h.a.status().length, 1, 'one ISAKMP SA on A (the first one was removed)');
  t.ok(h.logs.A.some((l) => /INVALID-COOKIE\): starting again/.test(l)), 'A logged the restart');
});

t.test('restarts are bounded per peer; in between the exchange retransmits as before', async (t) => {
  const h = new Harness(UNBUDGETED);
  h.b.receive(spoofedMm1(), SPOOFED, 500);
  const share = Math.ceil(MM1_RECORDS_PEER_BYTES / h.b.indexSizes().answeredMm1Bytes);
  // Every MM3 finds its record flooded out.
  h.filter = (d) => {
    if (isMm3(d)) for (let i = 0; i < share; i++) h.b.receive(spoofedMm1(), SPOOFED, 500);
    return d.data;
  };
  h.bringUp();
  t.equal(h.a.counters.mainModeRestarts, 1, 'one restart at once');
  t.equal(h.b.counters.invalidCookieSent, 2, 'the second main mode got INVALID-COOKIE too...');
  t.equal(h.installs.A.length, 0, 'no tunnel yet');
  t.ok(h.logs.A.some((l) => /INVALID-COOKIE ignored/.test(l)), '...which A ignored: restarted too recently');
  // The flood stops. B lost the second exchange too, so A's MM3 retransmissions get
  // INVALID-COOKIE, ignored until MAIN_MODE_RESTART_MS has passed; then A starts again.
  h.filter = (d) => d.data;
  const t0 = h.clock.t;
  h.advance(MAIN_MODE_RESTART_MS - 1000);
  t.equal(h.a.counters.mainModeRestarts, 1, 'no second restart within the bound');
  t.ok(h.a.counters.retransmitted >= 1, 'the MM3 was retransmitted meanwhile');
  for (let waited = 0; waited < 60_000 && h.installs.A.length === 0; waited += 1000) h.advance(1000);
  t.equal(h.a.counters.mainModeRestarts, 2, 'the second restart...');
  t.ok(h.clock.t - t0 >= MAIN_MODE_RESTART_MS, `...after the bound (${h.clock.t - t0} ms)`);
  t.same(h.failed, { A: [], B: [] }, 'no failure');
  t.equal(h.installs.A.length, 2, 'the tunnel came up');
});

t.test('a forged or stale cookie gets nothing', async (t) => {
  const h = new Harness(UNBUDGETED);
  let mm3: { data: Buffer; port: number } | null = null;
  h.filter = (d) => {
    if (isMm3(d) && mm3 === null) {
      mm3 = { data: d.data, port: d.src.port };
      return null;
    }
    return d.data;
  };
  h.bringUp();
  t.ok(mm3, 'captured MM3 (B never saw it)');
  const { data, port } = mm3!;
  const forged = Buffer.from(data);
  forged.fill(0x5a, 8, 16);
  t.equal(h.b.receive(forged, { address: NAT_PUBLIC, port }, 500).filter((a) => a.kind === 'send').length, 0, 'a guessed responder cookie: nothing');
  t.equal(h.b.receive(data, { address: NAT_PUBLIC, port: port + 1 }, 500).filter((a) => a.kind === 'send').length, 0, 'from another port: nothing');
  h.clock.t += 3 * COOKIE_WINDOW_MS;
  h.b.tick(); // the record expires
  t.equal(h.b.receive(data, { address: NAT_PUBLIC, port }, 500).filter((a) => a.kind === 'send').length, 0, 'three windows later: nothing');
  t.equal(h.b.counters.invalidCookieSent, 0, 'no INVALID-COOKIE sent');
});
