// IKEv2 rekey collisions between two in-memory nodes, each case named by the
// RFC 7296 section it covers (the simultaneous child rekey of §2.8.1 is in
// ikev2-exchange.test.ts; who deletes which pair after it is here): both ends
// rekeying the IKE SA at once (§2.8.2), Deletes of one pair crossing (§1.4.1),
// a rekey against a Delete of the same SA (§2.25.1 for child SAs, §2.25.2 for
// the IKE SA), a child rekey crossing an IKE SA rekey, a rekey whose answer
// is lost and retransmitted (§2.1), and INVALID_KE_PAYLOAD on an IKE SA rekey.
// After each, both ends must hold the same SAs with agreeing keys and no
// failure record; nothing may be left half-deleted.

import t, { type Test } from 'tap';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import { decodeMessage, isResponse } from '../../firmware/src/ike/v2/wire/index.ts';
import type { Harness, HarnessOptions } from './ike-exchange-harness.ts';
import { consistent, v2 } from './ikev2-harness.ts';
import { EngineModel } from './ike-engine-model.ts';

const exchangeOf = (data: Buffer): string => {
  const d = decodeMessage(data);
  if (!d.ok) return 'malformed';
  const names: Record<number, string> = { 34: 'IKE_SA_INIT', 35: 'IKE_AUTH', 36: 'CREATE_CHILD_SA', 37: 'INFORMATIONAL' };
  return `${names[d.value.header.exchange] ?? d.value.header.exchange}${isResponse(d.value.header) ? ' R' : ''}`;
};

const opts: HarnessOptions = { peerA: { dpd: null }, peerB: { dpd: null } };

t.test('§2.8.2: simultaneous IKE SA rekey: the SA with the lowest nonce is closed by its creator, children move to the survivor', async (t) => {
  for (let round = 0; round < 6; round++) {
    const h = v2(opts);
    h.bringUp();
    const child = h.a.status()[0]!.children[0]!;
    const old = h.a.status()[0]!.spis;
    h.apply('A', h.a.rekey('gwB', 'ike'));
    h.apply('B', h.b.rekey('gwA', 'ike'));
    h.pump();
    consistent(t, h, `round ${round}`);
    t.not(h.a.status()[0]!.spis, old, 'a new IKE SA');
    t.same(h.a.status()[0]!.children.map((c) => c.inSpi), [child.inSpi], 'the child pair moved over unchanged');
    t.notOk(h.deletes.A.includes(child.inSpi) || h.deletes.B.includes(child.outSpi), 'no child SA was deleted');
    t.ok(h.logs.A.concat(h.logs.B).some((l) => /simultaneous IKE SA rekey \(§2\.8\.2\)/.test(l)), 'the collision was seen');
    // The survivor works both ways.
    h.apply('A', h.a.rekey('gwB'));
    h.pump();
    h.apply('B', h.b.rekey('gwA'));
    h.pump();
    consistent(t, h, `round ${round}, child rekeys over the survivor`);
  }
});

t.test('§2.25.2: a Delete of the IKE SA crossing the peer\'s rekey of it: the rekey is forgotten, both end up without it', async (t) => {
  const h = v2(opts);
  h.bringUp();
  h.apply('B', h.b.rekey('gwA', 'ike'));
  h.apply('A', h.a.terminate('gwB'));
  h.pump();
  t.same(h.a.status(), [], 'A has no IKE SA');
  t.same(h.b.status(), [], 'B forgot its rekey and removed the SA on the Delete');
  t.same(h.failed, { A: [], B: [] });
});

t.test('§2.25.1: a child rekey crossing a Delete of the same child: TEMPORARY_FAILURE, the pair is gone on both sides', async (t) => {
  for (const deleter of ['A', 'B'] as const) {
    const h = v2(opts);
    h.bringUp();
    const child = h.a.status()[0]!.children[0]!;
    const [del, rek] = deleter === 'A' ? [h.a, h.b] : [h.b, h.a];
    const rekeyer = deleter === 'A' ? 'B' : 'A';
    const delChild = del.status()[0]!.children[0]!;
    // The engine's hard limit makes the node delete the pair; the other end rekeys it at the same time.
    h.apply(deleter, del.saLimit(delChild.outSpi, 'out', true));
    h.apply(rekeyer, rek.rekey(deleter === 'A' ? 'gwA' : 'gwB'));
    h.pump();
    t.same(h.a.status()[0]!.children, [], `${deleter} deletes: A has no child`);
    t.same(h.b.status()[0]!.children, [], `${deleter} deletes: B has no child`);
    t.ok(h.deletes.A.includes(child.inSpi) && h.deletes.B.includes(child.outSpi), 'the pair was removed from both engines');
    t.same(h.failed, { A: [], B: [] }, 'a collision, not a failure');
    t.ok((deleter === 'A' ? h.logs.A : h.logs.B).some((l) => /TEMPORARY_FAILURE/.test(l)), 'the deleting end refused the rekey');
    t.equal(h.a.status()[0]!.state, 'ESTABLISHED', 'the IKE SA stays');
  }
});

t.test('§2.8.2 with §1.3.3: a child rekey crossing an IKE SA rekey leaves one IKE SA with one pair', async (t) => {
  for (const [child, ike] of [['A', 'B'], ['B', 'A']] as const) {
    const h = v2(opts);
    h.bringUp();
    h.apply(child, (child === 'A' ? h.a : h.b).rekey(child === 'A' ? 'gwB' : 'gwA'));
    h.apply(ike, (ike === 'A' ? h.a : h.b).rekey(ike === 'A' ? 'gwB' : 'gwA', 'ike'));
    h.pump();
    // A rekey turned away with TEMPORARY_FAILURE is retried by its timer a few seconds later.
    h.advance(5000);
    consistent(t, h, `${child} rekeys the child, ${ike} the IKE SA`);
    h.apply('A', h.a.rekey('gwB'));
    h.pump();
    consistent(t, h, 'a child rekey afterwards');
  }
});

const LATE_CHILD_REKEY = '§2.25.2: a child rekey arriving on an IKE SA being deleted after its rekey gets TEMPORARY_FAILURE; rekeyed on the new SA';
t.test(LATE_CHILD_REKEY, async (t) => {
  const h = v2(opts);
  h.bringUp();
  // B's child rekey is held back until A has rekeyed the IKE SA, and B's answer to the
  // Delete of the old SA too, so A still has the old SA (DELETING) when the rekey arrives.
  const held: Parameters<typeof h.filter>[0][] = [];
  h.filter = (d) => {
    const x = exchangeOf(d.data);
    if (d.from === 'B' && (x === 'CREATE_CHILD_SA' || x === 'INFORMATIONAL R') && held.length < 2) {
      held.push(d);
      return null;
    }
    return d.data;
  };
  const child = h.b.status()[0]!.children[0]!;
  h.apply('B', h.b.rekey('gwA'));
  h.pump();
  h.apply('A', h.a.rekey('gwB', 'ike'));
  h.pump();
  t.same(held.map((d) => exchangeOf(d.data)), ['CREATE_CHILD_SA', 'INFORMATIONAL R'], 'held: the child rekey and the Delete answer');
  h.filter = (d) => d.data;
  for (const d of held) h.apply('A', h.a.receive(d.data, d.src, d.dst.port));
  h.pump();
  t.ok(h.logs.A.some((l) => /TEMPORARY_FAILURE/.test(l)), 'A answered the late rekey with TEMPORARY_FAILURE');
  consistent(t, h, 'after the IKE rekey');
  t.equal(h.b.status()[0]!.children[0]!.inSpi, child.inSpi, 'the child moved over unchanged');
  h.apply('B', h.b.rekey('gwA'));
  h.pump();
  consistent(t, h, "B's child rekey on the new SA");
  t.not(h.b.status()[0]!.children[0]!.inSpi, child.inSpi, 'B could rekey it (its rekey was not left stuck)');
});

t.test('§2.1: a child rekey whose answer is lost: retransmitted, answered from the cache, one new pair', async (t) => {
  const h = v2(opts);
  h.bringUp();
  let dropped = 0;
  h.filter = (d) => (d.from === 'B' && exchangeOf(d.data) === 'CREATE_CHILD_SA R' && dropped++ === 0 ? null : d.data);
  h.apply('A', h.a.rekey('gwB'));
  h.pump();
  t.equal(h.b.status()[0]!.children.length, 2, 'B holds old and new pair until the Delete');
  h.advance(2000);
  t.equal(h.b.counters.cachedResponses, 1, 'B answered the retransmission from its cache');
  t.equal(h.installs.B.length, 4, 'B installed the new pair once');
  consistent(t, h, 'after the retransmission');
});

t.test('§2.1 with §1.3.2: an IKE SA rekey whose answer is lost: one new IKE SA on both sides', async (t) => {
  const h = v2(opts);
  h.bringUp();
  let dropped = 0;
  h.filter = (d) => (d.from === 'B' && exchangeOf(d.data) === 'CREATE_CHILD_SA R' && dropped++ === 0 ? null : d.data);
  const old = h.a.status()[0]!.spis;
  h.apply('A', h.a.rekey('gwB', 'ike'));
  h.pump();
  h.advance(2000);
  consistent(t, h, 'after the retransmission');
  t.not(h.a.status()[0]!.spis, old);
  t.equal(h.b.counters.cachedResponses, 1);
});

t.test('§1.3.2: INVALID_KE_PAYLOAD on an IKE SA rekey: retried once with the group the peer names', async (t) => {
  const m14 = { encryption: 'aes256' as const, integrity: 'sha256' as const, dhGroup: 14 };
  const m19 = { encryption: 'aes256' as const, integrity: 'sha256' as const, dhGroup: 19 };
  // Both accept both; A's current suite is modp2048 but B prefers ecp256 for the new SA.
  const h = v2({ peerA: { ikeMethods: [m14, m19], dpd: null }, peerB: { ikeMethods: [m14, m19], dpd: null } });
  h.bringUp();
  // B's preference changes under the running SA (its policy object, as the SA sees it).
  h.b.peers()[0]!.ikeMethods = [m19, m14];
  h.apply('A', h.a.rekey('gwB', 'ike'));
  h.pump();
  t.ok(h.logs.A.some((l) => /INVALID_KE_PAYLOAD: peer wants group ecp256/.test(l)), 'A retried with ecp256');
  consistent(t, h, 'after the retry');
  t.equal(h.a.status()[0]!.proposal, 'aes256-sha256-ecp256');
});

t.test('initiate is idempotent: a peer with an IKE SA up or under way gets no second one (the daemon calls it every 30 s)', async (t) => {
  const h = v2(opts);
  h.apply('A', h.a.initiate('gwB'));
  h.apply('A', h.a.initiate('gwB'));
  h.pump();
  consistent(t, h, 'two calls while negotiating');
  const spis = h.a.status()[0]!.spis;
  h.apply('A', h.a.initiate('gwB'));
  h.pump();
  t.equal(h.a.status()[0]!.spis, spis, 'a call while up changes nothing');
  consistent(t, h, 'a call while up');
  h.apply('A', h.a.terminate('gwB'));
  h.pump();
  h.apply('A', h.a.initiate('gwB'));
  h.pump();
  consistent(t, h, 'after terminate a new one comes up');
});

t.test('§2.8: the rekey responder sends on the new pair only once the initiator deleted the old one (ESP cannot overtake the answer)', async (t) => {
  const h = v2(opts);
  h.bringUp();
  const old = h.b.status()[0]!.children[0]!;
  let held: Parameters<typeof h.filter>[0] | null = null;
  h.filter = (d) => {
    if (held === null && d.from === 'A' && exchangeOf(d.data) === 'INFORMATIONAL') {
      held = d;
      return null;
    }
    return d.data;
  };
  h.apply('A', h.a.rekey('gwB'));
  h.pump();
  const fresh = h.b.status()[0]!.children.find((c) => c.inSpi !== old.inSpi)!;
  t.ok(h.installs.B.some((s) => s.direction === 'in' && s.spi === fresh.inSpi), 'B installed the new inbound SA at once');
  t.notOk(h.installs.B.some((s) => s.direction === 'out' && s.spi === fresh.outSpi), 'but not the new outbound one');
  t.ok(h.installs.A.some((s) => s.direction === 'out' && s.spi === fresh.inSpi), 'A (the initiator) sends on the new pair');
  h.filter = (d) => d.data;
  h.apply('B', h.b.receive(held!.data, held!.src, held!.dst.port));
  h.pump();
  t.ok(h.installs.B.some((s) => s.direction === 'out' && s.spi === fresh.outSpi), "B's outbound SA went in with A's Delete of the old pair");
  consistent(t, h, 'after the Delete');
});

const LOSER_CLOSES_ITS_OWN =
  '§2.8.1: in a simultaneous child rekey the loser closes only its own new pair and the winner the old one; ' +
  'nobody sends on a pair the other lacks';
t.test(LOSER_CLOSES_ITS_OWN, async (t) => {
  const losers = new Set<string>();
  for (let round = 0; round < 8; round++) {
    const h = v2({ ...opts, seed: `child-collision/${round}` });
    h.bringUp();
    const engine = new EngineModel(h);
    engine.gaps();
    const requests = { A: 0, B: 0 };
    h.filter = (d) => {
      if (exchangeOf(d.data) === 'INFORMATIONAL') requests[d.from]++;
      return d.data;
    };
    h.apply('A', h.a.rekey('gwB'));
    h.apply('B', h.b.rekey('gwA'));
    h.pump();
    const loser = (['A', 'B'] as const).find((s) => h.logs[s].some((l) => /lowest nonce is ours/.test(l)));
    if (!loser) {
      t.fail(`round ${round}: no side saw the collision`);
      continue;
    }
    losers.add(loser);
    const what = `round ${round}: one Delete from each side (${loser} lost): the old pair's from the winner, its redundant pair's from the loser`;
    t.same(requests, { A: 1, B: 1 }, what);
    t.same(engine.gaps(), [], `round ${round}: each side sent on a pair the other could receive throughout`);
    consistent(t, h, `round ${round}`);
    t.equal(h.a.status()[0]!.children.length, 1, `round ${round}: one pair left`);
  }
  t.same([...losers].sort(), ['A', 'B'], 'each side lost some rounds');
});

t.test('§1.4.1: Deletes of one pair that cross are answered without the responder\'s half; the pair is gone on both sides', async (t) => {
  const h = v2(opts);
  h.bringUp();
  const pair = h.a.status()[0]!.children[0]!;
  h.apply('A', h.a.saLimit(pair.outSpi, 'out', true));
  h.apply('B', h.b.saLimit(pair.inSpi, 'out', true));
  h.pump();
  for (const s of ['A', 'B'] as const) t.ok(h.logs[s].some((l) => /crossed the peer's \(§1\.4\.1\)/.test(l)), `${s} answered the crossing Delete without its half`);
  t.same(h.failed, { A: [], B: [] });
  t.equal(h.a.status()[0]?.children.length ?? 0, 0, 'A holds no pair');
  t.equal(h.b.status()[0]?.children.length ?? 0, 0, 'B holds no pair');
});
