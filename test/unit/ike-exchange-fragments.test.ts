// Reassembly of IKEv1 fragments (firmware/src/ike/exchange/fragments.ts):
// order, duplicates, gaps, bounds, timeouts, and a flood of partial sets that
// must not grow memory beyond the limits.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import {
  REASSEMBLY_MAX_BYTES,
  REASSEMBLY_MAX_MESSAGES,
  REASSEMBLY_TIMEOUT_MS,
  Reassembler,
  type FragmentCounters,
} from '../../firmware/src/ike/exchange/fragments.ts';
import type { IkeFragment } from '../../firmware/src/ike/wire/index.ts';

const ckyI = Buffer.from('0102030405060708', 'hex');
const ckyR = Buffer.from('1112131415161718', 'hex');

function setup(): { r: Reassembler; c: FragmentCounters; clock: { t: number } } {
  const clock = { t: 1000 };
  const c: FragmentCounters = { fragmentsReceived: 0, fragmentsDropped: 0, reassembled: 0 };
  return { r: new Reassembler(() => clock.t, c), c, clock };
}

/** Splits `msg` into `n` fragments (as IkeFragment objects). */
function split(msg: Buffer, n: number, over: Partial<IkeFragment> = {}): IkeFragment[] {
  const size = Math.ceil(msg.length / n);
  return Array.from({ length: n }, (_, i) => ({
    initiatorCookie: ckyI,
    responderCookie: ckyR,
    exchangeType: 2,
    messageId: 0,
    fragmentId: 1,
    number: i + 1,
    last: i === n - 1,
    data: msg.subarray(i * size, (i + 1) * size),
    ...over,
  }));
}

t.test('in order and out of order', async (t) => {
  const msg = randomBytes(3000);
  for (const order of [
    [0, 1, 2],
    [2, 0, 1],
    [1, 2, 0],
  ]) {
    const { r, c } = setup();
    const frags = split(msg, 3);
    const outcomes = order.map((i) => r.add(frags[i]!));
    t.same(outcomes.slice(0, 2).map((o) => o.kind), ['incomplete', 'incomplete'], `order ${order}`);
    const last = outcomes[2]!;
    t.equal(last.kind, 'complete');
    if (last.kind === 'complete') {
      t.same(last.datagram, msg);
      t.equal(last.fragments, 3);
    }
    t.same(c, { fragmentsReceived: 3, fragmentsDropped: 0, reassembled: 1 });
    t.equal(r.pending, 0, 'nothing left behind');
  }
});

t.test('a single fragment flagged last is a whole message', async (t) => {
  const { r } = setup();
  const o = r.add(split(Buffer.from('abc'), 1)[0]!);
  t.equal(o.kind, 'complete');
});

t.test('duplicates are ignored and counted', async (t) => {
  const { r, c } = setup();
  const frags = split(randomBytes(900), 3);
  r.add(frags[0]!);
  const dup = r.add(frags[0]!);
  t.equal(dup.kind, 'dropped');
  if (dup.kind === 'dropped') t.match(dup.reason, /duplicate/);
  r.add(frags[1]!);
  t.equal(r.add(frags[2]!).kind, 'complete');
  t.equal(c.fragmentsDropped, 1);
  t.equal(c.reassembled, 1);
});

t.test('missing middle fragment: never complete, expires after the timeout', async (t) => {
  const { r, c, clock } = setup();
  const frags = split(randomBytes(900), 3);
  t.equal(r.add(frags[0]!).kind, 'incomplete');
  t.equal(r.add(frags[2]!).kind, 'incomplete');
  t.equal(r.pending, 1);
  clock.t += REASSEMBLY_TIMEOUT_MS;
  // The next fragment (of anything) sweeps the stale set; fragment 2 now starts a new set.
  t.equal(r.add(frags[1]!).kind, 'incomplete');
  t.equal(c.fragmentsDropped, 2, 'the stale set is dropped');
  t.equal(r.pending, 1);
  // The peer's retransmission of the whole set completes.
  r.add(frags[0]!);
  t.equal(r.add(frags[2]!).kind, 'complete');
});

t.test('fragments beyond the last one, conflicting ends', async (t) => {
  const { r, c } = setup();
  const frags = split(randomBytes(900), 3);
  r.add(frags[2]!);
  const beyond = r.add({ ...frags[0]!, number: 5, last: false });
  t.equal(beyond.kind, 'dropped');
  const other = r.add({ ...frags[0]!, number: 2, last: true });
  t.equal(other.kind, 'dropped', 'a second, different last fragment drops the set');
  t.equal(r.pending, 0);
  t.equal(c.fragmentsDropped, 3);
  // A last fragment below one already held is just as inconsistent.
  const { r: r2 } = setup();
  r2.add(frags[2]!);
  t.equal(r2.add({ ...frags[1]!, last: true }).kind, 'dropped');
});

t.test('out-of-bounds fragment numbers and empty data are dropped', async (t) => {
  const { r, c } = setup();
  const [f] = split(randomBytes(10), 1);
  t.equal(r.add({ ...f!, number: 0 }).kind, 'dropped');
  t.equal(r.add({ ...f!, number: 17 }).kind, 'dropped');
  t.equal(r.add({ ...f!, data: Buffer.alloc(0) }).kind, 'dropped');
  t.equal(c.fragmentsDropped, 3);
  t.equal(r.pending, 0);
});

t.test('a message larger than the byte bound is dropped', async (t) => {
  const { r, c } = setup();
  const frags = split(randomBytes(REASSEMBLY_MAX_BYTES + 16), 16);
  const outcomes = frags.map((f) => r.add(f));
  t.equal(outcomes.filter((o) => o.kind === 'complete').length, 0);
  t.ok(outcomes.some((o) => o.kind === 'dropped' && /larger than/.test(o.reason)));
  t.ok(r.bufferedBytes <= REASSEMBLY_MAX_BYTES);
  t.ok(c.fragmentsDropped > 0);
  // Exactly at the bound is fine.
  const { r: r2 } = setup();
  const ok = split(randomBytes(REASSEMBLY_MAX_BYTES), 16).map((f) => r2.add(f));
  t.equal(ok.at(-1)!.kind, 'complete');
});

t.test('sets are kept apart by cookies and fragment ID', async (t) => {
  const { r } = setup();
  const m1 = randomBytes(500);
  const m2 = randomBytes(500);
  const a = split(m1, 2);
  const b = split(m2, 2, { fragmentId: 2 });
  r.add(a[0]!);
  r.add(b[0]!);
  const ob = r.add(b[1]!);
  const oa = r.add(a[1]!);
  t.ok(ob.kind === 'complete' && ob.datagram.equals(m2));
  t.ok(oa.kind === 'complete' && oa.datagram.equals(m1));
  r.add(split(m1, 2)[0]!);
  r.discard(ckyI);
  t.equal(r.pending, 0, 'discard() forgets an SA');
});

t.test('a flood of partial sets stays within the bounds', async (t) => {
  const { r, c, clock } = setup();
  let maxPending = 0;
  let maxBytes = 0;
  for (let i = 0; i < 5000; i++) {
    const cky = randomBytes(8);
    // 15 of 16 fragments of a 16 KB message, never the last one.
    for (const f of split(randomBytes(REASSEMBLY_MAX_BYTES), 16, { initiatorCookie: cky }).slice(0, 15)) r.add(f);
    maxPending = Math.max(maxPending, r.pending);
    maxBytes = Math.max(maxBytes, r.bufferedBytes);
    clock.t += 1;
  }
  t.ok(maxPending <= REASSEMBLY_MAX_MESSAGES, `at most ${REASSEMBLY_MAX_MESSAGES} sets (${maxPending})`);
  t.ok(maxBytes <= REASSEMBLY_MAX_MESSAGES * REASSEMBLY_MAX_BYTES, `bounded bytes (${maxBytes})`);
  t.equal(c.reassembled, 0);
  t.ok(c.fragmentsDropped >= (5000 - REASSEMBLY_MAX_MESSAGES) * 15, 'evicted sets are counted');
  // A real message still gets through during the flood.
  const msg = randomBytes(2000);
  const outcomes = split(msg, 2).map((f) => r.add(f));
  t.ok(outcomes[1]!.kind === 'complete');
});
