// What an established ISAKMP SA keeps (issue 10, memory per tunnel): after main
// mode the DH key pair, public values, nonces and SAi_b are gone, and the
// informational replay set stays bounded however many DPD exchanges run.
import t from 'tap';
import { INFO_SEEN_MAX } from '../../firmware/src/ike/exchange/isakmp-sa.ts';
import { Harness } from './ike-exchange-harness.ts';

t.test('an established ISAKMP SA holds no main mode material', async (t) => {
  const h = new Harness();
  h.bringUp();
  for (const [node, peer] of [[h.a, 'gwB'], [h.b, 'gwA']] as const) {
    const sas = node.sasOf(peer);
    t.equal(sas.length, 1);
    const sa = sas[0]!;
    t.equal(sa.state, 'ESTABLISHED');
    t.same(
      [sa.dh, sa.gxi, sa.gxr, sa.ni, sa.nr, sa.peerOffer],
      [undefined, undefined, undefined, undefined, undefined, undefined],
      `${peer}'s side: no DH pair, public values or nonces`,
    );
    t.equal(sa.saiB.length, 0, 'no SAi_b');
    t.same(sa.offered, []);
    t.ok(sa.keys && sa.crypto, 'keys and IV stay');
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
