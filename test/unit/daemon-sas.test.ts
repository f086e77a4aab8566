// `sitelinkctl sas` as the daemon builds it (control-handlers.ts sasOf) from a real
// IKE node: each quick mode row shows what that pair was keyed with (algorithm,
// selectors, PFS, lifetime), not what its rule's first method says; a main mode
// still negotiating shows no proposal, method or lifetime yet.
import t from 'tap';
import { sasOf, type DaemonState } from '../../firmware/src/daemon/control-handlers.ts';
import type { Dataplane } from '../../firmware/src/dataplane/dataplane.ts';
import { renderSas } from '../../firmware/src/ctl/render.ts';
import { Harness } from './ike-exchange-harness.ts';

type Status = (spi: number, direction: 'in' | 'out') => object | null;

/** sasOf reads only the node, the dataplane's per-SA status and its AF_ALG counters; no engine here. */
function dataplaneOf(saStatus: Status, afalg = { requests: 0n, syscalls: 0n }): Dataplane {
  return { saStatus, counters: () => ({ afalgRequests: afalg.requests, afalgSyscalls: afalg.syscalls }) } as unknown as Dataplane;
}

function daemonOf(h: Harness): DaemonState {
  return { node: h.b, dataplane: dataplaneOf(() => null) } as unknown as DaemonState;
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
  const s = sasOf({ node: h.b, dataplane: dataplaneOf(status) } as unknown as DaemonState);
  t.same(s.quickMode[0]?.dropsIn, { replay: '4', icv: '2', malformed: '1', padding: '0' });
  t.match(renderSas(s), /4 replay, 2 icv, 1 malformed/);
});

t.test('a main mode still negotiating renders without proposal, method or lifetime', async (t) => {
  const h = new Harness();
  h.filter = (d) => (d.from === 'B' ? null : d.data); // B's MM2 never arrives
  h.apply('A', h.a.initiate('gwB'));
  h.pump();
  const s = sasOf({ node: h.a, dataplane: dataplaneOf(() => null) } as unknown as DaemonState);
  t.equal(s.mainMode.length, 1);
  t.equal(s.mainMode[0]!.state, 'negotiating');
  const row = renderSas(s).split('\n').find((l) => l.startsWith('gwB'));
  t.ok(row, 'a row for gwB');
  t.match(row!, /negotiating.* - +- +- +0 /, "proposal, auth and time left are '-'");
});

t.test('crypto-backend = auto: sas shows the choice, the probe figures behind it and syscalls per packet', async (t) => {
  const h = new Harness();
  h.bringUp();
  const outSpi = h.installs.B.find((s) => s.direction === 'out')!.spi;
  const inSpi = h.installs.B.find((s) => s.direction === 'in')!.spi;
  // Outbound: seals, AF_ALG batched over io_uring and faster at 1400 B. Inbound: opens one by
  // one (2 syscalls each), slower than OpenSSL. As the engine reports them (probe.c).
  const seal = {
    op: 'seal', choice: 'afalg', reason: 'af_alg faster at 1400 B: 900 vs 1250 ns/packet',
    afalgSmallNs: 700, afalgMtuNs: 900, afalgBatched: true, afalgSyscallsPerPacket: 0.125,
    opensslSmallNs: 310, opensslMtuNs: 1250, opensslSyscallsPerPacket: 0,
  };
  const open = {
    ...seal, op: 'open', choice: 'openssl', reason: 'openssl faster at 1400 B: 1240 vs 4100 ns/packet',
    afalgSmallNs: 3900, afalgMtuNs: 4100, afalgBatched: false, afalgSyscallsPerPacket: 2, opensslSmallNs: 300, opensslMtuNs: 1240,
  };
  const status: Status = (spi, direction) =>
    spi === outSpi && direction === 'out'
      ? { packets: 1n, bytes: 100n, algorithm: 'aes128gcm16', backend: 'afalg', driver: 'gcm-aes-ce', probe: seal }
      : spi === inSpi && direction === 'in'
        ? { packets: 1n, bytes: 100n, algorithm: 'aes128gcm16', backend: 'openssl', driver: 'openssl', probe: open }
        : null;
  const s = sasOf({ node: h.b, dataplane: dataplaneOf(status, { requests: 3000n, syscalls: 91n }) } as unknown as DaemonState);
  const json = JSON.parse(JSON.stringify(s)) as typeof s; // what --json prints
  t.same(json.quickMode[0]?.probe, seal, 'the outbound SA\'s seal figures reach the control reply');
  t.same(json.quickMode[0]?.probeIn, open, 'and the inbound SA\'s open figures');
  t.equal(json.quickMode[0]?.backend, 'afalg');
  t.equal(json.quickMode[0]?.backendIn, 'openssl', 'each SA its own choice');
  t.same(json.afalg, { packets: '3000', syscalls: '91' }, 'the live AF_ALG packets and syscalls');

  const text = renderSas(s);
  t.match(text, /out afalg \(gcm-aes-ce\), in openssl, auto/, 'the CRYPTO cell names both SAs\' backends');
  const lines = text.split('\n');
  const row = (op: string) => lines.find((l) => l.startsWith(`aes128gcm16 ${op}`)) ?? '';
  t.match(lines.find((l) => l.startsWith('crypto-backend = auto')) ?? '', /per packet at 64 \/ 1400 B/, 'a titled probe section');
  t.match(row('seal'), /^aes128gcm16 seal +afalg +0\.70 \/ 0\.90 us, batched, 0\.13 syscalls\/pkt +0\.31 \/ 1\.25 us +af_alg faster/);
  t.match(row('open'), /^aes128gcm16 open +openssl +3\.90 \/ 4\.10 us, one by one, 2\.00 syscalls\/pkt +0\.30 \/ 1\.24 us +openssl/);
  t.match(text, /^AF_ALG data plane: 0\.03 syscalls\/packet over 3000 packets$/m, 'the live data plane\'s syscalls per packet');
  t.ok(lines.every((l) => l.length <= 200), 'no line runs away');

  // The same transform on many SAs is one row per operation (the probe ran once).
  const twice = { ...s, quickMode: [s.quickMode[0]!, { ...s.quickMode[0]!, spiIn: 1, spiOut: 2 }] };
  t.equal(renderSas(twice).split('\n').filter((l) => l.startsWith('aes128gcm16 seal')).length, 1, 'one row per transform and operation');

  const unavailable = {
    ...seal, choice: 'openssl', reason: 'af_alg unavailable', afalgSmallNs: 0, afalgMtuNs: 0, afalgBatched: false, afalgSyscallsPerPacket: 0,
  };
  const host = sasOf({
    node: h.b,
    dataplane: dataplaneOf((spi, dir) =>
      spi === outSpi && dir === 'out' ? { algorithm: 'aes128gcm16', backend: 'openssl', driver: 'openssl', probe: unavailable } : null),
  } as unknown as DaemonState);
  t.match(renderSas(host), /aes128gcm16 seal +openssl +unavailable +0\.31 \/ 1\.25 us +af_alg unavailable/, 'no AF_ALG: said so');
  t.notMatch(renderSas(host), /AF_ALG data plane/, 'no AF_ALG anywhere: no live line');

  const refused = sasOf({
    node: h.b,
    dataplane: dataplaneOf((spi, dir) =>
      spi === outSpi && dir === 'out' ? { algorithm: 'aes128gcm16', backend: 'openssl', driver: 'openssl', probe: seal } : null),
  } as unknown as DaemonState);
  t.match(renderSas(refused), /out openssl \(openssl\), in unknown, auto \(af_alg refused: fell back\)/, 'chosen AF_ALG refused: the SA says it fell back');

  const conf = sasOf({ node: h.b, dataplane: dataplaneOf(() => null) } as unknown as DaemonState);
  t.notOk(/crypto-backend = auto|auto$/m.test(renderSas(conf)), 'no probe, no figures (backend configured)');
  t.equal(conf.quickMode[0]?.backend, 'unknown', 'no engine status: the backend is unknown, not a guessed one');
  t.notOk(/openssl|afalg/.test(renderSas(conf)), 'and the row names no backend');
  const idle = sasOf({
    node: h.b,
    dataplane: dataplaneOf((spi, dir) =>
      dir === 'out' && spi === outSpi ? { algorithm: 'aes128gcm16', backend: 'afalg', driver: 'gcm-aes-ce' } : null),
  } as unknown as DaemonState);
  t.match(renderSas(idle), /^AF_ALG data plane: no packets yet$/m, 'an AF_ALG SA before traffic: no ratio made up');
});
