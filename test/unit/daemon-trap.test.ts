// start = trap (daemon/trap.ts): an engine 'no-sa' event starts exactly the trap
// peers whose tunnel covers the packet, not peers on other subnets, not start/none
// peers, not peers already negotiating or in clear, and each at most once per
// hold-off however many packets arrive.

import t from 'tap';
import type { NoSaEvent } from '../../firmware/src/dataplane/types.ts';
import type { PeerPolicy } from '../../firmware/src/ike/exchange/types.ts';
import { peersForPacket, TRAP_HOLDOFF_MS, TrapStarter } from '../../firmware/src/daemon/trap.ts';

const peer = (name: string, local: string, remote: string): PeerPolicy =>
  ({ name, tunnels: [{ name: 'lan', local, remote, methods: [], pfsGroup: null }] }) as unknown as PeerPolicy;

const peers = [
  peer('hq', '198.18.1.0/24', '198.18.2.0/24'),
  peer('branch', '198.18.1.0/24', '198.18.3.0/24'),
  peer('lab', '198.18.1.0/24', '198.18.2.128/25'),
  peer('v6', '2001:db8:1::/48', '2001:db8:2::/48'),
];
const packet = (src: string, dst: string): NoSaEvent => ({ src: { address: src, port: 0 }, dst: { address: dst, port: 0 }, protocol: 1 });

t.test('peersForPacket: the tunnels whose subnets hold source and destination', async (t) => {
  t.same(peersForPacket(peers, packet('198.18.1.5', '198.18.2.7')), ['hq']);
  t.same(peersForPacket(peers, packet('198.18.1.5', '198.18.2.200')), ['hq', 'lab'], 'overlapping tunnels: both');
  t.same(peersForPacket(peers, packet('198.18.1.5', '198.18.3.1')), ['branch']);
  t.same(peersForPacket(peers, packet('198.18.9.5', '198.18.2.7')), [], 'source outside every local subnet');
  t.same(peersForPacket(peers, packet('2001:db8:1::5', '2001:db8:2::9')), ['v6'], 'IPv6');
  t.same(peersForPacket(peers, packet('not-an-address', '198.18.2.7')), [], 'garbage is no match');
});

t.test('TrapStarter: start mode, busy, clear, hold-off', async (t) => {
  let now = 0;
  const busy = new Set<string>();
  const clear = new Set<string>();
  const started: string[] = [];
  const modes: Record<string, 'start' | 'trap' | 'none'> = { hq: 'trap', branch: 'start', lab: 'trap', v6: 'trap' };
  const trap = new TrapStarter({
    now: () => now,
    peers: () => peers,
    startMode: (p) => modes[p],
    busy: () => busy,
    inClear: (p) => clear.has(p),
    initiate: (p) => started.push(p),
  });
  t.same(trap.onNoSa(packet('198.18.1.5', '198.18.3.1')), [], 'a start peer is not trapped');
  t.same(trap.onNoSa(packet('198.18.1.5', '198.18.2.7')), ['hq'], 'the trap peer starts');
  for (let i = 0; i < 1000; i++) trap.onNoSa(packet('198.18.1.5', '198.18.2.7'));
  t.same(started, ['hq'], 'a packet flood starts it once');
  now += TRAP_HOLDOFF_MS;
  busy.add('hq');
  t.same(trap.onNoSa(packet('198.18.1.5', '198.18.2.7')), [], 'negotiating or up: not again');
  busy.clear();
  clear.add('hq');
  t.same(trap.onNoSa(packet('198.18.1.5', '198.18.2.7')), [], 'passed in clear on a soft SA: not trapped');
  clear.clear();
  t.same(trap.onNoSa(packet('198.18.1.5', '198.18.2.7')), ['hq'], 'after the hold-off, with no SA: again');
  t.same(trap.onNoSa(packet('198.18.1.5', '198.18.2.200')), ['lab'], 'the other covering peer, hq held off');
});
