// RFC 9370 §2.2.2 IKE_FOLLOWUP_KE: an IKE SA rekey with additional key exchanges
// (ML-KEM) between two Ikev2Node instances in memory (ike-exchange-harness.ts,
// seeded randomness). The wire codec of the new exchange (round trip, sealed),
// the §2.2.4 derivations against an independent HMAC computation, then rekeys
// started by either side, two additional exchanges chained by their links, a lost
// request retransmitted, a follow-up that comes too late (STATE_NOT_FOUND), a bad
// KE (INVALID_SYNTAX), the responder's bound, the simultaneous rekey (RFC 7296
// §2.8.2), and a Delete of the old SA in the middle. After each, both ends hold
// the same IKE SA whose children's keys agree; an aborted rekey keeps the old one.

import t, { type Test } from 'tap';
import { createHmac } from 'node:crypto';
import { loadMlKem } from '../../firmware/src/ike/crypto/ml-kem.ts';
import type { IkeMethod, PeerPolicy } from '../../firmware/src/ike/exchange/types.ts';
import { deriveChildKeys, prfPlus, rekeySkeyseed } from '../../firmware/src/ike/v2/crypto/key-derivation.ts';
import { encrById, prfById } from '../../firmware/src/ike/v2/crypto/transforms.ts';
import { FOLLOWUP_TIMEOUT_MS, MAX_FOLLOWUPS } from '../../firmware/src/ike/v2/exchange/followup-ke.ts';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import type { FollowupKe } from '../../firmware/src/ike/v2/exchange/state.ts';
import {
  decodeMessage,
  EncrId,
  ExchangeType,
  HeaderFlag,
  isResponse,
  NotifyType,
  PayloadType,
  PrfId,
} from '../../firmware/src/ike/v2/wire/index.ts';
import { notifyName } from '../../firmware/src/ike/v2/wire/notify-types.ts';
import { openEncrypted, sealMessage } from '../../firmware/src/ike/v2/wire/encrypted.ts';
import { notify } from '../../firmware/src/ike/v2/wire/notify.ts';
import { decodePayloads } from '../../firmware/src/ike/v2/wire/payload-chain.ts';
import { isKnownExchange } from '../../firmware/src/ike/v2/wire/header.ts';
import type { Payload } from '../../firmware/src/ike/v2/wire/payloads.ts';
import type { Datagram, Harness, HarnessOptions } from './ike-exchange-harness.ts';
import { consistent, installedBeforeAnswer, v2 } from './ikev2-harness.ts';

// The daemon loads the ML-KEM bundle when a config names it (ml-kem.ts); here at once.
await loadMlKem();

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const hmac = (key: Buffer, ...parts: Buffer[]): Buffer => createHmac('sha256', key).update(Buffer.concat(parts)).digest();

t.test('IKE_FOLLOWUP_KE on the wire: exchange 44, KE and ADDITIONAL_KEY_EXCHANGE sealed and opened (round trip)', async (t) => {
  t.equal(ExchangeType.IKE_FOLLOWUP_KE, 44);
  t.ok(isKnownExchange(44));
  t.equal(notifyName(NotifyType.ADDITIONAL_KEY_EXCHANGE), 'ADDITIONAL_KEY_EXCHANGE');
  t.equal(NotifyType.ADDITIONAL_KEY_EXCHANGE, 16441);
  t.equal(notifyName(47), 'STATE_NOT_FOUND');
  const encr = encrById(EncrId.AES_GCM_16, 256)!;
  const keys = { encr, integ: undefined, encKey: Buffer.alloc(encr.keyMaterial, 7), integKey: undefined };
  const spis = { spiI: hex('0102030405060708'), spiR: hex('1112131415161718') };
  const header = { ...spis, exchange: ExchangeType.IKE_FOLLOWUP_KE, flags: HeaderFlag.INITIATOR, messageId: 5 };
  const inner: Payload[] = [
    { type: PayloadType.KE, group: 36, data: Buffer.alloc(1184, 0xa5) },
    notify(NotifyType.ADDITIONAL_KEY_EXCHANGE, hex('c0ffee0011223344')),
  ];
  const wire = sealMessage(header, [], inner, keys, Buffer.alloc(encr.ivLength, 3));
  const m = decodeMessage(wire);
  t.ok(m.ok);
  if (!m.ok) return;
  t.equal(m.value.header.exchange, 44);
  t.equal(m.value.header.messageId, 5);
  const opened = openEncrypted(m.value, keys);
  t.ok(opened.ok, 'opens under the same keys');
  if (!opened.ok) return;
  const chain = decodePayloads(opened.value.innerFirst, opened.value.chain);
  t.ok(chain.ok);
  if (chain.ok) t.same(chain.value.payloads, inner, 'the same KE and notify come out');
});

t.test('RFC 9370 §2.2.4 derivations: SKEYSEED and KEYMAT take SK(0) | Ni | Nr | SK(1) | ... | SK(n)', async (t) => {
  const prf = prfById(PrfId.HMAC_SHA2_256)!;
  const skD = Buffer.alloc(32, 1);
  const sk0 = Buffer.alloc(32, 2);
  const ni = Buffer.alloc(32, 3);
  const nr = Buffer.alloc(32, 4);
  const sk1 = Buffer.alloc(32, 5);
  const sk2 = Buffer.alloc(32, 6);
  const seed = rekeySkeyseed(prf, skD, sk0, ni, nr, sk1, sk2);
  t.same(seed, hmac(skD, sk0, ni, nr, sk1, sk2), 'SKEYSEED = prf(SK_d, SK(0) | Ni | Nr | SK(1) | SK(2))');
  t.same(rekeySkeyseed(prf, skD, sk0, ni, nr), hmac(skD, sk0, ni, nr), 'without follow-ups: RFC 7296 §2.18');
  // prf+ (RFC 7296 §2.13) written out independently: T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n).
  const s = Buffer.concat([sk0, ni, nr, sk1]);
  const t1 = hmac(skD, s, Buffer.of(1));
  const t2 = hmac(skD, t1, s, Buffer.of(2));
  const t3 = hmac(skD, t2, s, Buffer.of(3));
  const lengths = { encKey: 32, salt: 4, integKey: 0 };
  const k = deriveChildKeys(prf, skD, ni, nr, lengths, sk0, [sk1]);
  const km = Buffer.concat([t1, t2, t3]);
  t.same(k.initiatorToResponder.encKey, km.subarray(0, 32), 'KEYMAT = prf+(SK_d, SK(0) | Ni | Nr | SK(1)): initiator keys first');
  t.same(k.responderToInitiator.encKey, km.subarray(36, 68));
  t.equal(prfPlus(prf, skD, s, 96).toString('hex'), km.toString('hex'));
});

// ------------------------------------------------------------ state machine

const method = (addKe: IkeMethod['addKe']): IkeMethod => ({
  encryption: 'aes256gcm16',
  integrity: 'sha256',
  dhGroup: 31,
  ...(addKe ? { addKe } : {}),
});
const hybrid = (addKe: IkeMethod['addKe']): Partial<PeerPolicy> => ({ ikeMethods: [method(addKe)], dpd: null });
const KE1: IkeMethod['addKe'] = [{ slot: 1, ids: [36] }];
const exchangeOf = (d: Datagram): number => {
  const m = decodeMessage(d.data);
  return m.ok ? m.value.header.exchange : -1;
};
/** The messages on the wire as "<from>:<exchange>[R]:<message id>", RFC 7383 fragments and retransmissions counted once. */
const messagesOf = (h: Harness<Ikev2Node>, from = 0): string[] => [
  ...new Set(
    h.wire.slice(from).map((d) => {
      const m = decodeMessage(d.data);
      if (!m.ok) return 'bad';
      const hd = m.value.header;
      return `${d.from}:${hd.exchange}${isResponse(hd) ? 'R' : ''}:${hd.spiI.toString('hex')}:${hd.messageId}`;
    }),
  ),
];
const requestsOf = (h: Harness<Ikev2Node>, from: 'A' | 'B', exchange: number): number =>
  messagesOf(h).filter((x) => x.startsWith(`${from}:${exchange}:`)).length;

/** A child rekey over the current IKE SA proves its keys agree on both ends (its messages are under them). */
function childRekeyWorks(t: Test, h: Harness<Ikev2Node>, what: string): void {
  const before = h.a.status()[0]?.children[0]?.inSpi;
  h.apply('A', h.a.rekey('gwB'));
  h.pump();
  t.not(consistent(t, h, `${what}, then a child rekey`), '');
  t.not(h.a.status()[0]?.children[0]?.inSpi, before, `${what}: a new child pair`);
  installedBeforeAnswer(t, h, 'B', h.b.status()[0]?.children[0]?.inSpi, `${what}, child rekey`);
}

t.test('IKE SA rekey with ML-KEM-768, either side starting: CREATE_CHILD_SA, then IKE_FOLLOWUP_KE, then the new SA', async (t) => {
  for (const side of ['A', 'B'] as const) {
    const h = v2({ peerA: hybrid(KE1), peerB: hybrid(KE1) });
    h.bringUp();
    const old = consistent(t, h, `${side}: up`);
    const other = side === 'A' ? 'B' : 'A';
    const before = h.wire.length;
    h.apply(side, (side === 'A' ? h.a : h.b).rekey(side === 'A' ? 'gwB' : 'gwA', 'ike'));
    h.pump();
    const seq = messagesOf(h, before).map((x) => x.split(':').slice(0, 2).join(':'));
    t.same(seq.slice(0, 4), [`${side}:36`, `${other}:36R`, `${side}:44`, `${other}:44R`], `${side} starts: CREATE_CHILD_SA, then IKE_FOLLOWUP_KE`);
    const now = consistent(t, h, `${side} rekeyed`);
    t.not(now, old, `${side}: a new IKE SA`);
    t.equal(h.a.status()[0]!.proposal, 'aes256gcm16-prfsha256-curve25519-ke1_mlkem768', 'sitelinkctl sas names the additional KE of the new SA');
    t.equal(h.b.status()[0]!.proposal, 'aes256gcm16-prfsha256-curve25519-ke1_mlkem768');
    const log = (x: 'A' | 'B'): string => h.logs[x].join('\n');
    t.match(log(side), /IKE SA rekey: additional key exchange 1 \(mlkem768\) requested/);
    t.match(log(other), /IKE SA rekey: additional key exchange 1 \(mlkem768\) done/);
    t.match(log(side), /IKE SA rekeyed \(aes256gcm16-prfsha256-curve25519-ke1_mlkem768\)/);
    childRekeyWorks(t, h, side);
    t.same(h.b.sasOf('gwA').flatMap((s) => s.followups ?? []), [], 'no follow-up state left');
  }
});

t.test('without ML-KEM on one side the rekey is the classical one; with it required on one side only: refused, the SA stays', async (t) => {
  const opt = v2({ peerA: hybrid([{ slot: 1, ids: [36, 0] }]), peerB: hybrid(undefined) });
  opt.bringUp();
  opt.apply('A', opt.a.rekey('gwB', 'ike'));
  opt.pump();
  consistent(t, opt, 'optional');
  t.equal(requestsOf(opt, 'A', ExchangeType.IKE_FOLLOWUP_KE), 0, 'no IKE_FOLLOWUP_KE');
  t.match(opt.logs.A.join('\n'), /IKE SA rekeyed \(aes256gcm16-prfsha256-curve25519\)/);
});

t.test('two additional key exchanges chain by their links (ADDKE1, ADDKE2 in order)', async (t) => {
  const two: IkeMethod['addKe'] = [{ slot: 1, ids: [36] }, { slot: 2, ids: [37] }];
  const h = v2({ peerA: hybrid(two), peerB: hybrid(two) });
  h.bringUp();
  const before = h.wire.length;
  h.apply('A', h.a.rekey('gwB', 'ike'));
  h.pump();
  consistent(t, h, 'two follow-ups');
  const seq = messagesOf(h, before).map((x) => x.split(':').slice(0, 2).join(':')).filter((x) => x.includes(':44'));
  t.same(seq, ['A:44', 'B:44R', 'A:44', 'B:44R'], 'two IKE_FOLLOWUP_KE exchanges');
  const log = h.logs.B.join('\n');
  t.ok(log.indexOf('exchange 1 (mlkem768) done') < log.indexOf('exchange 2 (mlkem1024) done'));
  t.equal(h.a.status()[0]!.proposal, 'aes256gcm16-prfsha256-curve25519-ke1_mlkem768-ke2_mlkem1024');
  childRekeyWorks(t, h, 'two follow-ups');
});

t.test('a lost IKE_FOLLOWUP_KE response: the retransmission is answered from the cache and the rekey completes', async (t) => {
  const h = v2({ peerA: hybrid(KE1), peerB: hybrid(KE1) });
  h.bringUp();
  const old = h.a.status()[0]!.spis;
  let dropped = 0;
  h.filter = (d) => (d.from === 'B' && exchangeOf(d) === ExchangeType.IKE_FOLLOWUP_KE && dropped++ === 0 ? null : d.data);
  h.apply('A', h.a.rekey('gwB', 'ike'));
  h.pump();
  t.equal(h.a.status().filter((s) => s.state === 'ESTABLISHED')[0]?.spis, old, 'A still on the old SA while it waits');
  h.advance(2_500);
  t.not(consistent(t, h, 'after the retransmission'), old);
  t.equal(h.b.counters.cachedResponses, 1, 'B answered from its cache, not a second encapsulation');
});

t.test('a follow-up that comes too late: the responder dropped it, answers STATE_NOT_FOUND, both keep the old SA', async (t) => {
  const h = v2({ peerA: hybrid(KE1), peerB: hybrid(KE1) });
  h.bringUp();
  const old = h.a.status()[0]!.spis;
  const start = h.clock.t;
  // A's IKE_FOLLOWUP_KE requests are lost until B's state has expired; A's later retransmission gets through.
  h.filter = (d) => (d.from === 'A' && exchangeOf(d) === ExchangeType.IKE_FOLLOWUP_KE && h.clock.t - start <= FOLLOWUP_TIMEOUT_MS ? null : d.data);
  h.apply('A', h.a.rekey('gwB', 'ike'));
  h.pump();
  t.equal(h.b.sasOf('gwA')[0]!.followups?.length, 1, 'B waits for the follow-up');
  for (let i = 0; i < 8 && h.a.sasOf('gwB')[0]?.pending; i++) h.advance(5_000);
  t.match(h.logs.B.join('\n'), /no IKE_FOLLOWUP_KE within 20 s/, 'B dropped the state');
  t.match(h.logs.B.join('\n'), /STATE_NOT_FOUND/);
  t.match(h.logs.A.join('\n'), /IKE SA rekey ended before its additional key exchanges: IKE_FOLLOWUP_KE answered STATE_NOT_FOUND; the IKE SA stays/);
  t.equal(consistent(t, h, 'after the abort'), old, 'the old IKE SA stays');
  t.same(h.b.sasOf('gwA')[0]!.followups, [], 'no state left on B');
  t.ok(h.b.timerIndexErrors().length === 0 && h.a.timerIndexErrors().length === 0, 'timer indexes consistent');
  childRekeyWorks(t, h, 'old SA after the abort');
});

t.test('a KE of another method in IKE_FOLLOWUP_KE is INVALID_SYNTAX: the rekey ends, the old SA stays', async (t) => {
  const h = v2({ peerA: hybrid(KE1), peerB: hybrid(KE1) });
  h.bringUp();
  const old = h.a.status()[0]!.spis;
  // B's view of the agreement changes to ML-KEM-1024 before A's ML-KEM-768 KE arrives.
  h.filter = (d) => {
    if (d.from === 'A' && exchangeOf(d) === ExchangeType.IKE_FOLLOWUP_KE) {
      const f = h.b.sasOf('gwA')[0]!.followups![0]!;
      f.pending[0] = { slot: 1, id: 37 };
    }
    return d.data;
  };
  h.apply('A', h.a.rekey('gwB', 'ike'));
  h.pump();
  t.match(h.logs.B.join('\n'), /INVALID_SYNTAX: KE of method mlkem768, negotiated mlkem1024/);
  t.match(h.logs.A.join('\n'), /IKE_FOLLOWUP_KE answered INVALID_SYNTAX; the IKE SA stays/);
  h.filter = (d) => d.data;
  t.equal(consistent(t, h, 'after INVALID_SYNTAX'), old);
  childRekeyWorks(t, h, 'old SA after INVALID_SYNTAX');
});

t.test(`the responder keeps at most ${MAX_FOLLOWUPS} waiting CREATE_CHILD_SAs: more get TEMPORARY_FAILURE`, async (t) => {
  const h = v2({ peerA: hybrid(KE1), peerB: hybrid(KE1) });
  h.bringUp();
  const sa = h.b.sasOf('gwA')[0]!;
  const aborted: string[] = [];
  const filler = (i: number): FollowupKe => ({
    kind: 'child', what: `filler ${i}`, nonces: [Buffer.alloc(32, i), Buffer.alloc(32, i)], secrets: [], pending: [{ slot: 1, id: 36 }], done: [],
    link: Buffer.alloc(8, i), expiresAt: h.clock.t + 60_000, abandoned: false, finish: () => null, abort: (why) => void aborted.push(why),
  });
  sa.followups = Array.from({ length: MAX_FOLLOWUPS }, (_, i) => filler(i + 1));
  const old = h.a.status()[0]!.spis;
  h.apply('A', h.a.rekey('gwB', 'ike'));
  h.pump();
  t.match(h.logs.B.join('\n'), /TEMPORARY_FAILURE: too many CREATE_CHILD_SAs waiting/);
  t.match(h.logs.A.join('\n'), /TEMPORARY_FAILURE/);
  t.equal(h.a.status().filter((s) => s.state === 'ESTABLISHED')[0]?.spis, old, 'the old SA stays');
  h.advance(20_000);
  t.equal(aborted.length, 0, 'not yet expired');
  h.advance(45_000);
  t.equal(aborted.length, MAX_FOLLOWUPS, 'each waiting state expires on the timer');
  t.same(sa.followups, []);
});

t.test('§2.8.2 simultaneous IKE SA rekey with ML-KEM: the exchange with the lowest nonce stops before its IKE_FOLLOWUP_KE', async (t) => {
  for (let round = 0; round < 6; round++) {
    const h = v2({ peerA: hybrid(KE1), peerB: hybrid(KE1) });
    h.bringUp();
    const old = h.a.status()[0]!.spis;
    const child = h.a.status()[0]!.children[0]!;
    h.apply('A', h.a.rekey('gwB', 'ike'));
    h.apply('B', h.b.rekey('gwA', 'ike'));
    h.pump();
    const now = consistent(t, h, `round ${round}`);
    t.not(now, old, `round ${round}: a new IKE SA`);
    t.same(h.a.status()[0]!.children.map((c) => c.inSpi), [child.inSpi], 'the child pair moved over unchanged');
    const all = h.logs.A.concat(h.logs.B).join('\n');
    t.match(all, /simultaneous IKE SA rekey with additional key exchanges/, 'the collision was seen');
    const followups = requestsOf(h, 'A', ExchangeType.IKE_FOLLOWUP_KE) + requestsOf(h, 'B', ExchangeType.IKE_FOLLOWUP_KE);
    t.equal(followups, 1, 'only the surviving exchange ran its IKE_FOLLOWUP_KE');
    t.same([...h.a.sasOf('gwB'), ...h.b.sasOf('gwA')].flatMap((s) => s.followups ?? []), [], 'no follow-up state left');
    childRekeyWorks(t, h, `round ${round}`);
    // The next forced rekey starts from a clean state.
    h.apply('B', h.b.rekey('gwA', 'ike'));
    h.pump();
    t.not(consistent(t, h, `round ${round}, rekeyed again`), now);
  }
});

t.test('§2.25.2: the old IKE SA deleted while its rekey waits for IKE_FOLLOWUP_KE: nothing is left', async (t) => {
  const h = v2({ peerA: hybrid(KE1), peerB: hybrid(KE1) });
  h.bringUp();
  // A's follow-up is held back; meanwhile B terminates the SA.
  h.filter = (d) => (d.from === 'A' && exchangeOf(d) === ExchangeType.IKE_FOLLOWUP_KE ? null : d.data);
  h.apply('A', h.a.rekey('gwB', 'ike'));
  h.pump();
  h.apply('B', h.b.terminate('gwA'));
  h.pump();
  t.same(h.a.status(), [], 'A has no IKE SA');
  t.same(h.b.status(), [], 'B neither');
  t.same(h.failed, { A: [], B: [] });
  t.match(h.logs.A.join('\n'), /IKE SA rekey ended before its additional key exchanges: the IKE SA is gone/);
  t.notMatch(h.logs.A.join('\n'), /the IKE SA is gone; the IKE SA stays/, 'and does not claim it stays');
  t.equal(h.a.spisInUse + h.b.spisInUse, 0, 'no SPI left reserved');
});

// ------------------------------------------------------------ child SAs (pfs = curve25519-ke1_mlkem768)

const childPq = { pfsGroup: 31, addKe: [{ slot: 1, ids: [36] }] };

t.test('child SA rekey with ML-KEM-768 after the PFS group, either side starting: the new pair is keyed from both', async (t) => {
  for (const side of ['A', 'B'] as const) {
    const h = v2({ peerA: { dpd: null }, peerB: { dpd: null }, tunnelA: childPq, tunnelB: childPq });
    h.bringUp();
    const first = consistent(t, h, `${side}: up`);
    t.notOk(h.a.status()[0]!.children[0]!.addKe, 'the IKE_AUTH child has no additional KE (IKE_AUTH has no KE at all)');
    const before = h.wire.length;
    const node = side === 'A' ? h.a : h.b;
    const oldIn = h.a.status()[0]!.children[0]!.inSpi;
    const oldOut = h.a.status()[0]!.children[0]!.outSpi;
    h.apply(side, node.rekey(side === 'A' ? 'gwB' : 'gwA'));
    h.pump();
    const other = side === 'A' ? 'B' : 'A';
    const seq = messagesOf(h, before).map((x) => x.split(':').slice(0, 2).join(':'));
    t.same(seq.slice(0, 4), [`${side}:36`, `${other}:36R`, `${side}:44`, `${other}:44R`], `${side}: CREATE_CHILD_SA, then IKE_FOLLOWUP_KE`);
    t.equal(consistent(t, h, `${side}: child rekeyed`), first, 'the same IKE SA');
    const c = h.a.status()[0]!.children[0]!;
    t.not(c.inSpi, oldIn, 'a new pair');
    t.equal(c.addKe, '-ke1_mlkem768', 'status names the additional KE of the pair');
    t.equal(h.b.status()[0]!.children[0]!.addKe, '-ke1_mlkem768');
    const responder = other === 'A' ? h.a : h.b;
    installedBeforeAnswer(t, h, other, responder.status()[0]!.children[0]!.inSpi, `${side} starts, the last IKE_FOLLOWUP_KE`);
    t.match(h.logs[side].join('\n'), /rekey of lan: additional key exchange 1 \(mlkem768\) requested/);
    t.ok(h.deletes.A.includes(oldOut), 'the old pair was deleted after the new one was in');
  }
});

t.test('a child rekey whose follow-up comes too late: STATE_NOT_FOUND, the old pair stays and is rekeyed later', async (t) => {
  const h = v2({ peerA: { dpd: null }, peerB: { dpd: null }, tunnelA: childPq, tunnelB: childPq });
  h.bringUp();
  const oldIn = h.a.status()[0]!.children[0]!.inSpi;
  const start = h.clock.t;
  h.filter = (d) => (d.from === 'A' && exchangeOf(d) === ExchangeType.IKE_FOLLOWUP_KE && h.clock.t - start <= FOLLOWUP_TIMEOUT_MS ? null : d.data);
  h.apply('A', h.a.rekey('gwB'));
  h.pump();
  for (let i = 0; i < 8 && h.a.sasOf('gwB')[0]?.pending; i++) h.advance(5_000);
  t.match(h.logs.B.join('\n'), /the peer's rekey of lan ended before its additional key exchanges: no IKE_FOLLOWUP_KE within 20 s/);
  t.match(h.logs.A.join('\n'), /rekey of lan ended before its additional key exchanges: IKE_FOLLOWUP_KE answered STATE_NOT_FOUND; nothing installed/);
  consistent(t, h, 'after the abort');
  t.equal(h.a.status()[0]!.children[0]!.inSpi, oldIn, 'the old pair stays');
  t.equal(h.a.spisInUse, 1, "A holds only the old pair's SPI");
  t.equal(h.b.spisInUse, 1, "B released the new pair's SPI");
  h.filter = (d) => d.data;
  h.apply('A', h.a.rekey('gwB'));
  h.pump();
  consistent(t, h, 'rekeyed later');
  t.not(h.a.status()[0]!.children[0]!.inSpi, oldIn);
});

t.test('config: pfs = curve25519-ke1_mlkem768 reaches the tunnel; with version = 1 it is refused', async (t) => {
  const { loadConfigText } = await import('../../firmware/src/config/load.ts');
  const { formatConfigError } = await import('../../firmware/src/config/types.ts');
  const conf = (version: number, pfs: string): string => `gateway { id = gw.branch.lab }
peers { hq { remote = 198.51.100.2
             remote-id = gw.hq.lab
             version = ${version} } }
filter-lists { l { f { source = 10.1.0.0/24
                       destination = 10.2.0.0/24 } } }
filter-actions { sec { action = negotiate
                       security-methods = aes128gcm16
                       pfs = ${pfs} } }
rules { r1 { filters = l
             action = sec
             peer = hq } }
`;
  const ok = loadConfigText('sitelink.conf', conf(2, 'curve25519-ke1_mlkem768-ke1_none'), { secrets: false });
  t.ok(ok.ok, ok.ok ? 'valid' : ok.errors.map(formatConfigError).join('\n'));
  if (ok.ok) {
    const a = ok.config.filterActions.get('sec');
    t.same(a?.kind === 'negotiate' ? [a.pfsGroup, a.pfsAddKe] : null, [31, [{ slot: 1, ids: [36, 0] }]]);
  }
  const v1 = loadConfigText('sitelink.conf', conf(1, 'curve25519-ke1_mlkem768'), { secrets: false });
  t.match(v1.ok ? '' : v1.errors.map(formatConfigError).join('\n'), /sitelink\.conf:\d+: filter-actions\.sec\.pfs: IKEv2 only/);
  const bad = loadConfigText('sitelink.conf', conf(2, 'curve25519-ke1_mlkem999'), { secrets: false });
  t.match(bad.ok ? '' : bad.errors.map(formatConfigError).join('\n'), /filter-actions\.sec\.pfs: expected mlkem512, mlkem768, mlkem1024, none/);
});

t.test('§2.8.1 simultaneous child SA rekey with ML-KEM: both pairs come, the one with the lowest nonce is deleted by its creator', async (t) => {
  for (let round = 0; round < 4; round++) {
    const h = v2({ peerA: { dpd: null }, peerB: { dpd: null }, tunnelA: childPq, tunnelB: childPq });
    h.bringUp();
    const oldIn = h.a.status()[0]!.children[0]!.inSpi;
    h.apply('A', h.a.rekey('gwB'));
    h.apply('B', h.b.rekey('gwA'));
    h.pump();
    h.advance(3_000);
    consistent(t, h, `round ${round}`);
    t.not(h.a.status()[0]!.children[0]!.inSpi, oldIn, `round ${round}: a new pair`);
    t.equal(h.a.status()[0]!.children[0]!.addKe, '-ke1_mlkem768');
    t.match(h.logs.A.concat(h.logs.B).join('\n'), /simultaneous rekey of lan \(§2\.8\.1\)/, 'the collision was seen');
    t.equal(h.a.spisInUse, 1, 'A keeps one inbound SPI');
    t.equal(h.b.spisInUse, 1, 'B keeps one inbound SPI');
  }
});
