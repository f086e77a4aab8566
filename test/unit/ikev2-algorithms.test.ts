// IKEv2 algorithm negotiation between two in-memory nodes
// (test/unit/ike-exchange-harness.ts): AEAD IKE SA suites (RFC 5282 AES-GCM,
// RFC 7634 ChaCha20-Poly1305) through IKE_AUTH, CREATE_CHILD_SA and an IKE SA
// rekey; every DH group (14-16, 19-21, 31) for the IKE SA and as child SA PFS
// (§1.3.1 KE in CREATE_CHILD_SA); INVALID_KE_PAYLOAD (§1.2/§1.3) with each
// node as the initiator; ESN negotiation (§3.3.2); weak groups not offered.
// The groups' own known-answer vectors are in ike-crypto-vectors.test.ts.

import t, { type Test } from 'tap';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import type { IkeMethod } from '../../firmware/src/ike/exchange/types.ts';
import { decodeMessage, isResponse, PayloadType } from '../../firmware/src/ike/v2/wire/index.ts';
import { Harness, type HarnessOptions } from './ike-exchange-harness.ts';

const v2 = (o: HarnessOptions = {}): Harness<Ikev2Node> => new Harness<Ikev2Node>(o, (env, peers, options) => new Ikev2Node(env, peers, options));

const exchangeOf = (data: Buffer): string => {
  const d = decodeMessage(data);
  if (!d.ok) return 'malformed';
  const names: Record<number, string> = { 34: 'IKE_SA_INIT', 35: 'IKE_AUTH', 36: 'CREATE_CHILD_SA', 37: 'INFORMATIONAL' };
  return `${names[d.value.header.exchange] ?? d.value.header.exchange}${isResponse(d.value.header) ? ' R' : ''}`;
};

/** The keys of the newest pair agree across the two nodes, in both directions. */
function keysAgree(t: Test, h: Harness<Ikev2Node>, what: string): void {
  const a = h.a.status()[0]!.children[0]!;
  const aOut = h.installs.A.find((s) => s.direction === 'out' && s.spi === a.outSpi)!;
  const bIn = h.installs.B.find((s) => s.direction === 'in' && s.spi === a.outSpi)!;
  const aIn = h.installs.A.find((s) => s.direction === 'in' && s.spi === a.inSpi)!;
  const bOut = h.installs.B.find((s) => s.direction === 'out' && s.spi === a.inSpi)!;
  t.ok(aOut && bIn && aIn && bOut, `${what}: both pairs installed`);
  t.same(aOut.encKey, bIn.encKey, `${what}: A->B keys agree`);
  t.same(bOut.encKey, aIn.encKey, `${what}: B->A keys agree`);
}

const suites: [IkeMethod, string][] = [
  [{ encryption: 'aes128gcm16', integrity: 'sha256', dhGroup: 19 }, 'aes128gcm16-prfsha256-ecp256'],
  [{ encryption: 'aes256gcm16', integrity: 'sha384', dhGroup: 20 }, 'aes256gcm16-prfsha384-ecp384'],
  [{ encryption: 'chacha20poly1305', integrity: 'sha256', dhGroup: 31 }, 'chacha20poly1305-prfsha256-curve25519'],
  [{ encryption: 'aes256gcm16', integrity: 'sha512', dhGroup: 14 }, 'aes256gcm16-prfsha512-modp2048'],
];

t.test('RFC 5282/RFC 7634: AEAD IKE SA suites carry IKE_AUTH, a child rekey and an IKE SA rekey', async (t) => {
  for (const [method, name] of suites) {
    const h = v2({
      peerA: { ikeMethods: [method], ikeLifetimeSeconds: 600, dpd: null },
      peerB: { ikeMethods: [{ encryption: 'aes256', integrity: 'sha256', dhGroup: 14 }, method], ikeLifetimeSeconds: 600, dpd: null },
    });
    h.bringUp();
    t.same(h.failed, { A: [], B: [] }, name);
    t.equal(h.a.status()[0]!.proposal, name, `${name}: A's IKE SA`);
    t.equal(h.b.status()[0]!.proposal, name, `${name}: B's IKE SA`);
    // RFC 5282 §8: an AEAD proposal has no integrity transform, and its answer neither.
    const init = decodeMessage(h.wire[1]!.data);
    if (!init.ok) throw new Error('IKE_SA_INIT response does not decode');
    const sa = init.value.payloads.find((p) => p.type === PayloadType.SA);
    t.ok(sa && 'proposals' in sa && sa.proposals[0]!.transforms.every((x) => x.type !== 3), `${name}: no INTEG transform in the answer`);
    keysAgree(t, h, `${name} IKE_AUTH`);
    h.apply('A', h.a.rekey('gwB'));
    h.pump();
    t.same(h.failed, { A: [], B: [] }, `${name}: child rekey`);
    keysAgree(t, h, `${name} CREATE_CHILD_SA`);
    h.advance(541_000);
    t.same(h.failed, { A: [], B: [] }, `${name}: IKE SA rekey`);
    t.equal(h.a.status().length, 1);
    t.equal(h.a.status()[0]!.proposal, name, `${name}: the rekeyed IKE SA keeps the suite`);
    t.equal(h.a.status()[0]!.spis, h.b.status()[0]!.spis, `${name}: both sides on the new SA`);
    h.apply('B', h.b.rekey('gwA'));
    h.pump();
    t.same(h.failed, { A: [], B: [] }, `${name}: a child rekey over the rekeyed SA`);
    keysAgree(t, h, `${name} after the IKE rekey`);
  }
});

t.test('§1.3.1: every DH group (14, 15, 16, 19, 20, 21, 31) for the IKE SA and as child SA PFS in CREATE_CHILD_SA', async (t) => {
  for (const g of [14, 15, 16, 19, 20, 21, 31]) {
    const m: IkeMethod = { encryption: 'aes256', integrity: 'sha256', dhGroup: g };
    const h = v2({ peerA: { ikeMethods: [m] }, peerB: { ikeMethods: [m] }, tunnelA: { pfsGroup: g }, tunnelB: { pfsGroup: g } });
    h.bringUp();
    t.same(h.failed, { A: [], B: [] }, `group ${g}`);
    t.equal(h.a.status()[0]!.proposal.split('-')[2], h.b.status()[0]!.proposal.split('-')[2]);
    h.apply('A', h.a.rekey('gwB'));
    h.pump();
    t.same(h.failed, { A: [], B: [] }, `group ${g}: rekey with PFS`);
    const req = decodeMessage(h.wire[4]!.data);
    if (!req.ok) throw new Error('CREATE_CHILD_SA does not decode');
    t.equal(h.a.status()[0]!.children[0]!.pfsGroup, g, `group ${g}: the new child has PFS`);
    t.equal(h.b.status()[0]!.children[0]!.pfsGroup, g);
    keysAgree(t, h, `group ${g} PFS`);
  }
});

t.test('§3.3.6: child PFS with groups that do not overlap: NO_PROPOSAL_CHOSEN, the old pair stays', async (t) => {
  const h = v2({ tunnelA: { pfsGroup: 19 }, tunnelB: { pfsGroup: 20 } });
  h.bringUp();
  const old = h.a.status()[0]!.children[0]!;
  h.apply('A', h.a.rekey('gwB'));
  h.pump();
  t.same(h.failures.A.map((f) => f.code), ['no-proposal-chosen']);
  t.same(h.a.status()[0]!.children.map((c) => c.inSpi), [old.inSpi], 'the old pair is kept');
});

const g14: IkeMethod = { encryption: 'aes256', integrity: 'sha256', dhGroup: 14 };
const g19: IkeMethod = { encryption: 'aes256', integrity: 'sha256', dhGroup: 19 };
const x25519: IkeMethod = { encryption: 'aes256gcm16', integrity: 'sha256', dhGroup: 31 };

t.test('§1.2: INVALID_KE_PAYLOAD, each node in each role: the initiator retries with the group the responder names', async (t) => {
  for (const first of ['A', 'B'] as const) {
    const h = v2({ peerA: { ikeMethods: [g14, x25519] }, peerB: { ikeMethods: [x25519, g19, g14] } });
    if (first === 'A') h.bringUp();
    else {
      // B prefers x25519 but its KE is for its first method; A prefers modp2048, which B also takes.
      h.apply('B', h.b.initiate('gwA'));
      h.pump();
    }
    t.same(h.failed, { A: [], B: [] }, `${first} initiating`);
    const exchanges = h.wire.map((d) => exchangeOf(d.data));
    const status = (first === 'A' ? h.a : h.b).status()[0]!;
    if (first === 'A') {
      // A's KE is modp2048; B prefers x25519 (offered by A too) and asks for it.
      t.same(exchanges.slice(0, 4), ['IKE_SA_INIT', 'IKE_SA_INIT R', 'IKE_SA_INIT', 'IKE_SA_INIT R'], 'A retried once');
      t.equal(status.proposal, 'aes256gcm16-prfsha256-curve25519');
    } else {
      // B's KE is x25519; A prefers modp2048 (offered by B too) and asks for it.
      t.same(exchanges.slice(0, 4), ['IKE_SA_INIT', 'IKE_SA_INIT R', 'IKE_SA_INIT', 'IKE_SA_INIT R'], 'B retried once');
      t.equal(status.proposal, 'aes256-sha256-modp2048');
    }
    t.same(h.a.status()[0]!.proposal, h.b.status()[0]!.proposal, 'both ends agree');
    t.ok((first === 'A' ? h.logs.A : h.logs.B).some((l) => /INVALID_KE_PAYLOAD: responder wants group (curve25519|modp2048), retrying/.test(l)));
  }
});

t.test('§1.2: an INVALID_KE_PAYLOAD naming a group we never offered fails instead of looping', async (t) => {
  const h = v2({ peerA: { ikeMethods: [g14] }, peerB: { ikeMethods: [g19] } });
  h.bringUp();
  t.same(h.failures.A.map((f) => f.code), ['no-proposal-chosen']);
  t.ok(h.wire.filter((d) => exchangeOf(d.data) === 'IKE_SA_INIT').length <= 1, 'no retry with an unoffered group');
});

t.test('weak groups are not offered unless the peer allows weak algorithms', async (t) => {
  const weak: IkeMethod = { encryption: 'aes128', integrity: 'sha256', dhGroup: 1 };
  const h = v2({ peerA: { ikeMethods: [weak, g14] }, peerB: { ikeMethods: [weak, g14] } });
  h.bringUp();
  t.equal(h.a.status()[0]!.proposal, 'aes256-sha256-modp2048', 'group 1 skipped on both sides');
});

t.test('§3.3.2: ESN negotiation for child SAs, kept across rekeys; the engine is told', async (t) => {
  const cases: ['no' | 'yes' | 'either', 'no' | 'yes' | 'either', boolean | 'fail'][] = [
    ['no', 'no', false],
    ['yes', 'yes', true],
    ['either', 'yes', true],
    ['either', 'no', false],
    ['either', 'either', true],
    ['no', 'either', false],
    ['yes', 'no', 'fail'],
  ];
  for (const [a, b, want] of cases) {
    const h = v2({ tunnelA: { esn: a }, tunnelB: { esn: b } });
    h.bringUp();
    if (want === 'fail') {
      t.same(h.failures.A.map((f) => f.code), ['no-proposal-chosen'], `A ${a}, B ${b}: no common ESN setting`);
      t.equal(h.installs.A.length, 0);
      continue;
    }
    t.same(h.failed, { A: [], B: [] }, `A ${a}, B ${b}`);
    t.same(
      [...h.installs.A, ...h.installs.B].map((s) => s.esn === true),
      [want, want, want, want],
      `A ${a}, B ${b}: both pairs ${want ? 'with' : 'without'} ESN`,
    );
    h.apply('B', h.b.rekey('gwA'));
    h.pump();
    t.same(
      [...h.installs.A.slice(2), ...h.installs.B.slice(2)].map((s) => s.esn === true),
      [want, want, want, want],
      `A ${a}, B ${b}: the rekeyed pairs too`,
    );
  }
});
