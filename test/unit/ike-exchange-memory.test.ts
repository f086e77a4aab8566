// What an established ISAKMP SA keeps (issue 10, memory per tunnel): after main
// mode the DH key pair, public values, nonces and SAi_b are gone, and the
// informational replay set stays bounded however many DPD exchanges run.
import t from 'tap';
import { INFO_SEEN_MAX } from '../../firmware/src/ike/exchange/informational-replay.ts';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import { Harness } from './ike-exchange-harness.ts';

t.test('an established ISAKMP SA holds no main mode material', async (t) => {
  const h = new Harness();
  h.bringUp();
  for (const [node, peer] of [[h.a, 'gwB'], [h.b, 'gwA']] as const) {
    const sas = node.sasOf(peer);
    t.equal(sas.length, 1);
    const sa = sas[0]!;
    t.equal(sa.state, 'ESTABLISHED');
    // The ESTABLISHED state holds the negotiated suite and the keys, nothing of main mode.
    const held = Object.keys(sa.mm).sort();
    t.same(held, ['auth', 'chosen', 'crypto', 'keys', 'state', 'suite'], `${peer}'s side: no DH pair, public values, nonces, SAi_b or offers`);
  }
  t.equal(h.installs.A.length, 2, 'the tunnel is up');
});

t.test('DPD for hours: the informational replay set stays bounded, the tunnel stays up', async (t) => {
  const h = new Harness();
  h.bringUp();
  // dpd-delay 30 s in the harness: each idle period is one R-U-THERE and one ACK.
  for (let i = 0; i < INFO_SEEN_MAX + 60; i++) h.advance(31_000);
  const a = h.a.sasOf('gwB').find((s) => s.state === 'ESTABLISHED');
  const b = h.b.sasOf('gwA').find((s) => s.state === 'ESTABLISHED');
  t.ok(a && b, 'both ISAKMP SAs are still up');
  t.ok(
    b!.infoSeen.size >= INFO_SEEN_MAX - 1 && b!.infoSeen.size <= INFO_SEEN_MAX,
    `responder remembers at most ${INFO_SEEN_MAX} informational IDs (${b!.infoSeen.size})`,
  );
  t.ok(a!.infoSeen.size <= INFO_SEEN_MAX, `initiator too (${a!.infoSeen.size})`);
  t.same(h.failed, { A: [], B: [] }, 'no failures');
});

t.test('what an SA keeps for its life has its own memory, and a finished quick mode keeps no key material', async (t) => {
  const h = new Harness({ tunnelA: { pfsGroup: 14 }, tunnelB: { pfsGroup: 14 } });
  h.bringUp();
  // A slice of Node's shared 8 KB allocation pool would pin the whole slab (own-buffer.ts).
  const own = (b: Buffer | undefined): boolean => b !== undefined && b.byteOffset === 0 && b.buffer.byteLength === b.length;
  for (const [node, peer] of [[h.a, 'gwB'], [h.b, 'gwA']] as const) {
    const sa = node.sasOf(peer)[0]!;
    // The quick mode proved that the peer has our last main mode message: the copies kept
    // to answer its repetitions (MM5/MM6 and our reply) are gone.
    t.equal(sa.lastReceived, null, `${peer}: no main mode datagram kept after the quick mode`);
    t.equal(sa.retransmit.last, null, `${peer}: nothing of main mode left to resend`);
    // SKEYID_d and SKEYID_a share one buffer of their own; SKEYID, SKEYID_e and the
    // encryption key (the crypto state has its own copy) are not kept.
    const keys = sa.mm.state === 'ESTABLISHED' ? sa.mm.keys : undefined;
    t.same(Object.keys(keys ?? {}).sort(), ['skeyidA', 'skeyidD'], `${peer}: only SKEYID_d and SKEYID_a stay`);
    t.ok(keys && keys.skeyidD.buffer === keys.skeyidA.buffer && keys.skeyidD.buffer.byteLength === keys.skeyidD.length + keys.skeyidA.length,
      `${peer}: in one buffer of their own, not a pool slice`);
    t.ok(own(sa.ckyI) && own(sa.ckyR), `${peer}: the cookies are not pool slices`);
    // The ESTABLISHED state is a fresh object: nothing is deleted from it (a deleted
    // property would turn it into a dictionary-mode object, ~3 KB more each).
    t.same(Object.keys(sa.mm).sort(), ['auth', 'chosen', 'crypto', 'keys', 'state', 'suite'], `${peer}: main mode state released`);
    const qms = [...sa.quick.values()];
    t.equal(qms.length, 1, `${peer}: the finished quick mode lingers for duplicates`);
    const qm = qms[0]!;
    t.equal(qm.state, 'DONE');
    // DONE holds no nonces, PFS key pair, secret, offer or accepted parameters.
    const kept = ['forgetAt', 'lastReceived', 'messageId', 'retransmit', 'role', 'state', 'tunnel'];
    t.same(Object.keys(qm).sort(), kept, `${peer}: nothing to key an SA`);
    t.ok(own(qm.state === 'DONE' ? qm.lastReceived : undefined), `${peer}: its last received message is not a pool slice`);
    // The initiator keeps QM3 to answer a repeated QM2; the responder has nothing left to send after QM3.
    t.equal(qm.retransmit.last !== null, peer === 'gwB', `${peer}: ${peer === 'gwB' ? 'QM3 kept for a repeated QM2' : 'QM2 released after QM3'}`);
  }
  t.equal(h.installs.A.length, 2, 'the tunnel is up (with PFS)');
});

t.test('IKEv2: an established IKE SA keeps no DH key pair, and its SPIs, nonces, keys and selectors have their own memory', async (t) => {
  const h = new Harness<Ikev2Node>({}, (env, peers, options) => new Ikev2Node(env, peers, options));
  h.bringUp();
  const own = (b: Buffer | undefined | null): boolean => !!b && b.byteOffset === 0 && b.buffer.byteLength === b.length;
  for (const [node, peer] of [[h.a, 'gwB'], [h.b, 'gwA']] as const) {
    const sa = node.sasOf(peer)[0]!;
    t.equal(sa.state, 'ESTABLISHED');
    t.equal(sa.dh, null, `${peer}: the DH key pair (a native object) is released after IKE_SA_INIT`);
    t.ok(own(sa.spiI) && own(sa.spiR), `${peer}: SPIs`);
    // What only IKE_SA_INIT and IKE_AUTH needed is gone (state.ts shedAuthState).
    const shed = [sa.ni, sa.nr, sa.initRequest, sa.initResponse].map((b) => b.length);
    t.same(shed, [0, 0, 0, 0], `${peer}: no nonces or IKE_SA_INIT messages kept`);
    const k = sa.keys!;
    t.same([k.pi.length, k.pr.length], [0, 0], `${peer}: SK_pi/SK_pr dropped after IKE_AUTH`);
    const kept = [k.d, k.ai, k.ar, k.ei, k.er];
    const store = k.d.buffer;
    t.ok(kept.every((b) => b.buffer === store) && store.byteLength === kept.reduce((n, b) => n + b.length, 0) && k.d.byteOffset === 0,
      `${peer}: SK_d, SK_a*, SK_e* in one store of their own, not a pool slice`);
    t.ok(k.d.length > 0 && k.ei.length > 0 && k.er.length > 0, `${peer}: and they are there`);
    const c = sa.children[0]!;
    t.ok([...c.localTs, ...c.remoteTs].every((ts) => own(ts.startAddress) && own(ts.endAddress)), `${peer}: the child SA's selectors`);
  }
  t.equal(h.installs.A.length, 2, 'the tunnel is up');
});
