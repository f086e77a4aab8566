// The daemon's IKE speaker: the IKEv1 node (exchange/ike-node.ts) for
// version 1 peers and the IKEv2 node (v2/exchange/node.ts) for version 2
// peers behind one interface. Incoming datagrams go by the header's major
// version (RFC 2408 §3.1 / RFC 7296 §3.1: the same octet, 0x10 or 0x20), both
// nodes share the sockets, the ESP engine and the action vocabulary.

import type { ExchangeCounters } from './exchange/context.ts';
import { IkeNode, ofRules, type IkeNodeOptions, type IsakmpStatus } from './exchange/ike-node.ts';
import type { Action, Endpoint, ExchangeEnv, PeerPolicy } from './exchange/types.ts';
import { Ikev2Node } from './v2/exchange/node.ts';

export type IkeSaStatus = IsakmpStatus & { version: 1 | 2 };

const isV2 = (p: PeerPolicy): boolean => p.ikeVersion === 2;

export class IkeNodes {
  readonly v1: IkeNode;
  readonly v2: Ikev2Node;

  constructor(env: ExchangeEnv, peers: readonly PeerPolicy[], options: IkeNodeOptions = {}) {
    this.v1 = new IkeNode(env, peers.filter((p) => !isV2(p)), options);
    this.v2 = new Ikev2Node(env, peers.filter(isV2), {
      ...(options.fragmentation === undefined ? {} : { fragmentation: options.fragmentation }),
      ...(options.retransmit === undefined ? {} : { retransmit: options.retransmit }),
    });
  }

  /** Both nodes' counters folded into the IKEv1 shape the control protocol reports. */
  get counters(): ExchangeCounters {
    const a = this.v1.counters;
    const b = this.v2.counters;
    return {
      ...a,
      malformed: a.malformed + b.malformed,
      unexpected: a.unexpected + b.unexpected,
      retransmitted: a.retransmitted + b.retransmitted,
      mainModeFailed: a.mainModeFailed + b.ikeFailed,
      quickModeFailed: a.quickModeFailed + b.childFailed,
      halfOpenRefused: a.halfOpenRefused + b.halfOpenRefused,
      fragmentsReceived: a.fragmentsReceived + b.fragmentsReceived,
      fragmentsSent: a.fragmentsSent + b.fragmentsSent,
      fragmentsDropped: a.fragmentsDropped + b.fragmentsDropped,
    };
  }

  #nodeOf(peer: string): IkeNode | Ikev2Node | null {
    if (this.v2.hasPeer(peer)) return this.v2;
    if (this.v1.hasPeer(peer)) return this.v1;
    return null;
  }

  peers(): PeerPolicy[] {
    return [...this.v1.peers(), ...this.v2.peers()];
  }

  initiate(peer: string): Action[] {
    return this.#nodeOf(peer)?.initiate(peer) ?? [];
  }

  receive(data: Buffer, from: Endpoint, localPort: number): Action[] {
    // Octet 17 is the version in both headers; anything not IKEv2 goes to the IKEv1 node, which counts it if malformed.
    if (data.length >= 28 && data[17]! >> 4 === 2) return this.v2.receive(data, from, localPort);
    return this.v1.receive(data, from, localPort);
  }

  tick(): Action[] {
    return [...this.v1.tick(), ...this.v2.tick()];
  }

  /** A peer whose version changed is in `reset` (its settings changed): the old node drops its SAs.
   * `changedRules` (changed or removed negotiate rules): IKEv1 drops only their SA pairs;
   * IKEv2 renegotiates every peer that has one of them, old or new. */
  setPeers(peers: readonly PeerPolicy[], reset: readonly string[], changedRules: readonly string[] = []): Action[] {
    const v2 = peers.filter(isV2);
    const owners = [...this.v2.peers(), ...v2].filter((p) => p.tunnels.some((t) => ofRules(t.name, changedRules))).map((p) => p.name);
    return [...this.v1.setPeers(peers.filter((p) => !isV2(p)), reset, changedRules), ...this.v2.setPeers(v2, [...reset, ...owners])];
  }

  /** `what` = 'ike' rekeys the IKE SA itself (IKEv2 only: IKEv1 re-authenticates with a new main mode). */
  rekey(peer: string, what: 'child' | 'ike' = 'child'): Action[] {
    const node = this.#nodeOf(peer);
    if (node === this.v2) return this.v2.rekey(peer, what);
    return what === 'ike' ? [] : (node?.rekey(peer) ?? []);
  }

  terminate(peer: string): Action[] {
    return this.#nodeOf(peer)?.terminate(peer) ?? [];
  }

  shutdown(): Action[] {
    return [...this.v1.shutdown(), ...this.v2.shutdown()];
  }

  peerMoved(reqid: number, from: Endpoint): Action[] {
    return [...this.v1.peerMoved(reqid, from), ...this.v2.peerMoved(reqid, from)];
  }

  saLimit(spi: number, direction: 'in' | 'out', hard: boolean): Action[] {
    return [...this.v1.saLimit(spi, direction, hard), ...this.v2.saLimit(spi, direction, hard)];
  }

  status(): IkeSaStatus[] {
    const v2: IkeSaStatus[] = this.v2.status().map((s) => ({
      version: 2,
      peer: s.peer,
      role: s.role,
      state: s.state,
      local: s.local,
      remote: s.remote,
      natLocal: s.natLocal,
      natRemote: s.natRemote,
      cookies: s.spis,
      proposal: s.proposal,
      auth: s.auth,
      remainingSeconds: s.remainingSeconds,
      children: s.children,
    }));
    return [...this.v1.status().map((s) => ({ ...s, version: 1 as const })), ...v2];
  }
}
