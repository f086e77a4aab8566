// `sitelinkctl sas` as the daemon builds it (control-handlers.ts sasOf) from a real
// IKE node: each quick mode row shows what that pair was keyed with (algorithm,
// selectors, PFS, lifetime), not what its rule's first method says; a main mode
// still negotiating shows no proposal, method or lifetime yet.
import t from 'tap';
import { sasOf, type DaemonState } from '../../firmware/src/daemon/control-handlers.ts';
import type { Dataplane } from '../../firmware/src/dataplane/dataplane.ts';
import { renderSas } from '../../firmware/src/ctl/render.ts';
import { Harness } from './ike-exchange-harness.ts';

/** sasOf reads only the node and the dataplane's per-SA status; no engine here. */
function daemonOf(h: Harness): DaemonState {
  const dataplane = { saStatus: () => null } as unknown as Dataplane;
  return { node: h.b, dataplane } as unknown as DaemonState;
}

t.test('a quick mode row shows its own algorithm, selectors, PFS and kilobyte lifetime', async (t) => {
  const methods = [
    { esp: 'aes256gcm16' as const, lifetimeSeconds: 3600, lifetimeKilobytes: 100000 },
    { esp: 'aes128-sha256' as const, lifetimeSeconds: 3600, lifetimeKilobytes: 50000 },
  ];
  // A offers only the second method from a single host; B answers with its default
  // response rule, so the pair is narrower than B's rule and not its first method.
  const h = new Harness({
    tunnelA: { local: '198.18.1.7/32', methods: [methods[1]!], pfsGroup: 14 },
    tunnelB: { defaultResponse: true, methods, pfsGroup: 14 },
  });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  const s = sasOf(daemonOf(h));
  t.equal(s.quickMode.length, 1);
  const q = s.quickMode[0]!;
  t.equal(q.algorithm, 'aes128-sha256', 'the negotiated method');
  t.same(q.remoteTs, ['198.18.1.7/32'], "the peer host the pair was keyed for, not the rule's subnet");
  t.same(q.localTs, ['198.18.2.0/24']);
  t.equal(q.pfs, 'modp2048', 'the PFS group as the config names it');
  t.equal(q.lifetimeKilobytes, 50000, "that method's kilobyte lifetime");
  t.equal(q.rule, 'lan~198.18.1.7/32');
  t.same(q.dropsIn, { replay: '0', icv: '0', malformed: '0', padding: '0' }, 'no engine status: zero drops');
});

t.test("a quick mode row carries its inbound SA's drop counts", async (t) => {
  const h = new Harness();
  h.bringUp();
  const inSpi = h.installs.B.find((s) => s.direction === 'in')!.spi;
  const status = (spi: number, direction: 'in' | 'out') =>
    spi === inSpi && direction === 'in'
      ? {
          packets: 10n,
          bytes: 1000n,
          dropsReplay: 4n,
          dropsIcv: 2n,
          dropsMalformed: 1n,
          dropsPadding: 0n,
          algorithm: 'aes128gcm16',
          backend: 'openssl',
          driver: 'openssl',
        }
      : null;
  const s = sasOf({ node: h.b, dataplane: { saStatus: status } } as unknown as DaemonState);
  t.same(s.quickMode[0]?.dropsIn, { replay: '4', icv: '2', malformed: '1', padding: '0' });
  t.match(renderSas(s), /4 replay, 2 icv, 1 malformed/);
});

t.test('a main mode still negotiating renders without proposal, method or lifetime', async (t) => {
  const h = new Harness();
  h.filter = (d) => (d.from === 'B' ? null : d.data); // B's MM2 never arrives
  h.apply('A', h.a.initiate('gwB'));
  h.pump();
  const s = sasOf({ node: h.a, dataplane: { saStatus: () => null } } as unknown as DaemonState);
  t.equal(s.mainMode.length, 1);
  t.equal(s.mainMode[0]!.state, 'negotiating');
  const row = renderSas(s).split('\n').find((l) => l.startsWith('gwB'));
  t.ok(row, 'a row for gwB');
  t.match(row!, /negotiating.* - +- +- +0 /, "proposal, auth and time left are '-'");
});

t.test('crypto-backend = auto: the row shows the probe that chose the backend', async (t) => {
  const h = new Harness();
  h.bringUp();
  const outSpi = h.installs.B.find((s) => s.direction === 'out')!.spi;
  const probe = { afalgSmallNs: 0, afalgMtuNs: 0, opensslSmallNs: 310, opensslMtuNs: 1250 };
  const status = (spi: number, direction: 'in' | 'out') =>
    spi === outSpi && direction === 'out'
      ? { packets: 1n, bytes: 100n, algorithm: 'aes128gcm16', backend: 'openssl', driver: 'openssl', probe }
      : null;
  const s = sasOf({ node: h.b, dataplane: { saStatus: status } } as unknown as DaemonState);
  t.same(s.quickMode[0]?.probe, probe, 'the figures reach the control reply');
  t.match(renderSas(s), /openssl \(openssl\) \[auto by probe, 64\/1400 B: openssl 0\.31\/1\.25 us, af_alg unavailable\]/);
  const conf = sasOf({ node: h.b, dataplane: { saStatus: () => null } } as unknown as DaemonState);
  t.notOk(renderSas(conf).includes('auto by probe'), 'no probe, no figures (backend configured)');
  t.equal(conf.quickMode[0]?.backend, 'unknown', 'no engine status: the backend is unknown, not a guessed one');
  t.notOk(/openssl|afalg/.test(renderSas(conf)), 'and the row names no backend');
});
