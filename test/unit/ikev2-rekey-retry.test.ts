// A refused IKEv2 rekey is tried again (rekey-retry.ts, RFC 7296 §2.8 with the
// random delay of §2.25): two in-memory nodes (ike-exchange-harness.ts, fake
// clock). B refuses by having no acceptable proposal (NO_PROPOSAL_CHOSEN), for
// the IKE SA and for the child SA. Refused once, then accepted: the retry
// rekeys the SA. Refused always: the retries stop at MAX_REKEY_RETRIES and the
// old SA's hard lifetime still ends it, on both sides.

import t from 'tap';
import type { IkeMethod, TunnelPolicy } from '../../firmware/src/ike/exchange/types.ts';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import { MAX_REKEY_RETRIES } from '../../firmware/src/ike/v2/exchange/rekey-retry.ts';
import { Harness } from './ike-exchange-harness.ts';

// Long enough that all retries (at most 10 + 20 + 40 s after the first refusal, which comes
// by 90 % of the lifetime) fit before the hard lifetime whatever the random delays: with 600 s
// the third retry could fall in the same 1 s step as the expiry, and the log check failed now and then.
const IKE_LIFETIME_S = 1200;
const CHILD_LIFETIME_S = 3600;
const v2 = (): Harness<Ikev2Node> =>
  new Harness<Ikev2Node>(
    { peerA: { dpd: null, ikeLifetimeSeconds: IKE_LIFETIME_S }, peerB: { dpd: null } },
    (env, peers, options) => new Ikev2Node(env, peers, options),
  );

/** B's policy objects (the SA refers to them), made to refuse A's offers or not. */
function refuser(h: Harness<Ikev2Node>, what: 'ike' | 'child'): { refuse: () => void; accept: () => void } {
  const pb = h.b.peers()[0]! as { ikeMethods: IkeMethod[]; tunnels: TunnelPolicy[] };
  const tunnel = pb.tunnels[0]! as { methods: TunnelPolicy['methods'] };
  const ike = pb.ikeMethods;
  const esp = tunnel.methods;
  return {
    refuse: () => {
      if (what === 'ike') pb.ikeMethods = [{ encryption: 'aes256gcm16', integrity: 'sha256', dhGroup: 31 }];
      else tunnel.methods = [{ esp: 'aes256gcm16', lifetimeSeconds: CHILD_LIFETIME_S, lifetimeKilobytes: 100000 }];
    },
    accept: () => {
      pb.ikeMethods = ike;
      tunnel.methods = esp;
    },
  };
}

const established = (h: Harness<Ikev2Node>, side: 'a' | 'b'): ReturnType<Ikev2Node['status']> =>
  h[side].status().filter((s) => s.state === 'ESTABLISHED');

/** Advances the clock in 1 s steps until `done` or `seconds` pass; true when done. */
function until(h: Harness<Ikev2Node>, seconds: number, done: () => boolean): boolean {
  for (let i = 0; i < seconds; i++) {
    if (done()) return true;
    h.advance(1000);
  }
  return done();
}

// The first rekey comes by 90 % of the lifetime (A's IKE SA; the child, with its jitter).
const firstRekeyS = { ike: IKE_LIFETIME_S * 0.9, child: CHILD_LIFETIME_S * 0.9 };
const spisOf = (h: Harness<Ikev2Node>, what: 'ike' | 'child', side: 'a' | 'b' = 'a'): string => {
  const s = established(h, side)[0];
  return what === 'ike' ? (s?.spis ?? '') : String(s?.children[0]?.outSpi ?? '');
};

for (const what of ['ike', 'child'] as const) {
  t.test(`${what} SA rekey refused once, then accepted: the retry rekeys it`, async (t) => {
    const h = v2();
    h.bringUp();
    const old = spisOf(h, what);
    t.ok(old, 'up');
    const b = refuser(h, what);
    b.refuse();
    t.ok(until(h, firstRekeyS[what] + 10, () => h.a.counters.rekeyRetries === 1), 'refused once: one retry scheduled');
    t.equal(spisOf(h, what), old, 'the old SA stays meanwhile');
    b.accept();
    t.ok(until(h, 60, () => spisOf(h, what) !== old), 'the retry rekeyed it');
    t.equal(h.a.counters.rekeyRetries, 1, 'no further retry');
    t.equal(established(h, 'a').length, 1, 'A has one IKE SA');
    t.equal(established(h, 'b').length, 1, 'B has one IKE SA');
    t.equal(established(h, 'a')[0]?.spis, established(h, 'b')[0]?.spis, 'the same one');
    if (what === 'child') t.equal(established(h, 'b')[0]?.children[0]?.inSpi, Number(spisOf(h, what)), 'the same child pair');
    t.ok(h.logs.A.some((l) => /trying again in \d+ s \(retry 1 of 3\)/.test(l)), 'the retry is logged');
  });

  t.test(`${what} SA rekey always refused: retries stop at the bound, the hard lifetime ends the old SA`, async (t) => {
    const h = v2();
    h.bringUp();
    const old = spisOf(h, what);
    const oldIke = established(h, 'a')[0]!.spis;
    refuser(h, what).refuse();
    const lifetime = what === 'ike' ? IKE_LIFETIME_S : CHILD_LIFETIME_S;
    // Stop right after the hard lifetime; A may bring a new SA up afterwards (not the point here).
    const gone = (): boolean => !h.a.status().some((s) => (what === 'ike' ? s.spis === oldIke : s.children.some((c) => String(c.outSpi) === old)));
    t.ok(until(h, lifetime + 5, gone), 'the old SA ended at its hard lifetime');
    t.equal(h.a.counters.rekeyRetries, MAX_REKEY_RETRIES, `${MAX_REKEY_RETRIES} retries, no more`);
    t.ok(h.logs.A.some((l) => /no more retries/.test(l)), 'the end of the retries is logged');
    if (what === 'ike') t.notOk(h.b.status().some((s) => s.spis === oldIke), 'B removed it too (A deleted it)');
    else t.notOk(h.b.status().some((s) => s.children.some((c) => String(c.inSpi) === old)), 'B removed the pair too');
  });
}
