// One hub and N spoke IKE nodes exchanging datagrams in memory, for the benchmarks
// that measure the IKE core alone (hub-timers.ts: time, hub-memory.ts: heap): no
// sockets, no engine. The hub's peers are the mirror image of each spoke's policy.

import type { Action, Endpoint, PeerPolicy } from '../../../firmware/src/ike/exchange/types.ts';
import type { Spoke } from '../../../firmware/src/tools/loadgen/spokes.ts';
import { spokePolicy, type HubTarget } from '../../../firmware/src/tools/loadgen/spoke-policy.ts';
import { HUB } from './plan.ts';

export interface Packet {
  to: 'hub' | number;
  data: Buffer;
  from: Endpoint;
  port: number;
}

/** The hub's peer for each spoke: the spoke's own policy seen from the other end. */
export function hubPeers(spokes: readonly Spoke[], target: HubTarget): PeerPolicy[] {
  return spokes.map((s) => {
    const p = spokePolicy(s, target);
    const lan = p.tunnels[0]!;
    return {
      ...p,
      name: `s-${s.id}`,
      remoteAddress: s.address,
      localAddress: HUB.address,
      localId: p.remoteId,
      remoteId: p.localId,
      tunnels: [{ ...lan, local: lan.remote, remote: lan.local }],
    };
  });
}

/** Queues what the nodes send and delivers it until nothing is left; `up` counts the
 * tunnels the spokes installed. `deliver` hands a packet to its node (the caller may
 * time the hub's share, or drop the spokes). */
export class InMemoryWire {
  up = 0;
  readonly queue: Packet[] = [];
  readonly #spokes: readonly Spoke[];
  readonly #index: Map<string, number>;
  readonly #deliver: (p: Packet) => Action[];

  constructor(spokes: readonly Spoke[], deliver: (p: Packet) => Action[]) {
    this.#spokes = spokes;
    this.#index = new Map(spokes.map((s, i) => [s.address, i]));
    this.#deliver = deliver;
  }

  route(actions: Action[], from: 'hub' | number): void {
    for (const a of actions) {
      if (a.kind === 'install' && a.sa.direction === 'out' && from !== 'hub') this.up++;
      if (a.kind !== 'send') continue;
      if (from === 'hub') {
        this.queue.push({ to: this.#index.get(a.to.address)!, data: a.data, from: { address: HUB.address, port: a.localPort }, port: a.to.port });
      } else this.queue.push({ to: 'hub', data: a.data, from: { address: this.#spokes[from]!.address, port: a.localPort }, port: a.to.port });
    }
  }

  pump(): void {
    while (this.queue.length > 0) {
      const p = this.queue.shift()!;
      this.route(this.#deliver(p), p.to);
    }
  }
}
