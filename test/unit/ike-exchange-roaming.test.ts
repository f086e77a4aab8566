// A peer with remote = %any (ROAMING): its main mode is accepted from an
// address we were never told, and we never start one towards it.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROAMING, type PeerPolicy } from '../../firmware/src/ike/exchange/types.ts';
import { IdType } from '../../firmware/src/ike/wire/index.ts';
import { Harness, NAT_PUBLIC, tunnel } from './ike-exchange-harness.ts';
import { gatewaySignatureAuth, makeGatewayPki, opensslSkipReason } from '../lib/test-pki.ts';

t.test('a roaming peer is accepted from any address, through the NAT', async (t) => {
  const h = new Harness({ nat: true, peerB: { remoteAddress: ROAMING } });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  t.equal(h.installs.B.length, 2, 'B installed the pair');
  t.equal(h.b.status()[0]?.remote.address, NAT_PUBLIC, "B's ISAKMP SA is with the address the MM1 came from");
  t.equal(h.installs.B.find((s) => s.direction === 'out')?.remote.address, NAT_PUBLIC, 'ESP goes to where the peer is');
});

t.test('we never initiate towards a roaming peer', async (t) => {
  const h = new Harness({ peerB: { remoteAddress: ROAMING } });
  h.apply('B', h.b.initiate('gwA'));
  h.pump();
  t.equal(h.wire.length, 0, 'nothing was sent');
  t.ok(h.logs.B.some((l) => /not initiating to gwA: remote = %any/.test(l)), 'and the log says why');
});

t.test('without %any an unknown address is refused', async (t) => {
  const h = new Harness({ nat: true, peerB: { remoteAddress: '192.0.2.99' } });
  h.bringUp();
  t.equal(h.installs.B.length, 0);
  t.ok(h.logs.B.some((l) => /no peer configured for 198\.51\.100\.1/.test(l)));
});

// Several %any peers (branches with dynamic addresses, certificates): MM1 is answered
// with the first one's main mode settings, which they share (config checkRoamingPeers);
// the identity proven in MM5 then says which peer the ISAKMP SA belongs to.
t.test('several roaming peers: the identity in MM5 picks the peer', { skip: opensslSkipReason() ?? false }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sitelink-roaming-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  makeGatewayPki(dir, 'ec');
  const sig = { psk: null, signature: gatewaySignatureAuth(dir, 'gwB', 9) };
  const roamer = (name: string, id: string, remote: string): PeerPolicy => ({
    ...h0.b.peers()[0]!, ...sig, name, remoteAddress: ROAMING, remoteId: { idType: IdType.FQDN, name: id },
    tunnels: [tunnel('198.18.2.0/24', remote, { name: `to-${name}` })],
  });
  const h0 = new Harness({
    nat: true,
    peerA: { psk: null, signature: gatewaySignatureAuth(dir, 'gwA', 9) },
    peerB: { remoteAddress: ROAMING, ...sig },
  });

  t.test('the second roaming peer is the one that connects', async (t) => {
    const h = new Harness({
      nat: true,
      peerA: { psk: null, signature: gatewaySignatureAuth(dir, 'gwA', 9) },
      peerB: { remoteAddress: ROAMING, ...sig },
    });
    // B: another branch first, then gwA (the harness's own, remote-id gwA.lab).
    h.apply('B', h.b.setPeers([roamer('branch7', 'branch7.lab', '198.18.7.0/24'), ...h.b.peers()], []));
    h.bringUp();
    t.same(h.failed, { A: [], B: [] });
    t.ok(h.logs.B.some((l) => /remote = %any: identity gwA\.lab is peer gwA/.test(l)), 'B says which peer the identity picked');
    t.same(h.b.status().map((s) => [s.peer, s.state]), [['gwA', 'ESTABLISHED']], "the ISAKMP SA is gwA's");
    t.same(
      h.installs.B.map((s) => [s.peer, s.remoteTs]),
      [
        ['gwA', '198.18.1.0/24'],
        ['gwA', '198.18.1.0/24'],
      ],
      "gwA's tunnel was keyed, not branch7's",
    );
  });

  t.test('an identity that no roaming peer has is refused, naming all of them', async (t) => {
    const h = new Harness({
      nat: true,
      peerA: { psk: null, signature: gatewaySignatureAuth(dir, 'gwA', 9) },
      peerB: { remoteAddress: ROAMING, ...sig },
    });
    h.apply('B', h.b.setPeers([roamer('branch7', 'branch7.lab', '198.18.7.0/24'), roamer('branch8', 'branch8.lab', '198.18.8.0/24')], []));
    h.bringUp();
    t.equal(h.installs.B.length, 0);
    t.equal(h.failures.B[0]?.code, 'id-mismatch');
    t.equal(h.failures.B[0]?.expectedId, 'branch7.lab or branch8.lab');
    t.equal(h.failures.B[0]?.receivedId, 'gwA.lab');
  });

  t.test('a configured address still wins over the roaming peers', async (t) => {
    const h = new Harness({ nat: true, peerA: { psk: null, signature: gatewaySignatureAuth(dir, 'gwA', 9) }, peerB: { ...sig } });
    h.apply('B', h.b.setPeers([roamer('branch7', 'gwA.lab', '198.18.7.0/24'), ...h.b.peers()], []));
    h.bringUp();
    t.same(h.failed, { A: [], B: [] });
    t.same(h.b.status().map((s) => s.peer), ['gwA'], 'the peer with the address, no identity switch');
    t.notOk(h.logs.B.some((l) => /remote = %any: identity/.test(l)));
  });
});
