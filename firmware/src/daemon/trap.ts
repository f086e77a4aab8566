// start = trap: a peer negotiates when traffic for one of its tunnels first
// needs an SA. The engine reports an outbound packet that found no SA as a
// 'no-sa' event carrying the packet's inner addresses (native/src/event.h; at
// most 8 a second per worker); this starts the trap peers whose tunnel covers
// that packet (local subnet holds the source, remote the destination) and
// that have no IPsec SA yet. Each peer is started at most once per
// TRAP_HOLDOFF_MS: a stream of packets waiting for its exchange does not
// re-initiate it (initiate is idempotent anyway; this bounds the work).

import type { NoSaEvent } from '../dataplane/types.ts';
import type { PeerPolicy } from '../ike/exchange/types.ts';
import { inPrefix, parseCidr, parseIp } from '../base/address.ts';

export const TRAP_HOLDOFF_MS = 5000;

export interface TrapDeps {
  now(): number;
  /** The configured peers; start mode per peer name. */
  peers(): readonly PeerPolicy[];
  startMode(peer: string): 'start' | 'trap' | 'none' | undefined;
  /** Peers with an IPsec SA, or an IKE negotiation under way. */
  busy(): ReadonlySet<string>;
  /** Peers passed in clear on a soft SA (fallback to clear). */
  inClear(peer: string): boolean;
  initiate(peer: string): void;
}

function covers(cidr: string, address: string): boolean {
  const net = parseCidr(cidr);
  const ip = parseIp(address);
  return net !== null && ip !== null && inPrefix(ip, net.addr, net.prefix);
}

/** The peers (by name) with a tunnel whose subnets hold this packet's source and destination. */
export function peersForPacket(peers: readonly PeerPolicy[], ev: NoSaEvent): string[] {
  return peers
    .filter((p) => p.tunnels.some((t) => covers(t.local, ev.src.address) && covers(t.remote, ev.dst.address)))
    .map((p) => p.name);
}

export class TrapStarter {
  readonly #d: TrapDeps;
  readonly #startedAt = new Map<string, number>();

  constructor(deps: TrapDeps) {
    this.#d = deps;
  }

  /** An outbound packet found no SA: start the trap peers it belongs to. Returns the peers started. */
  onNoSa(ev: NoSaEvent): string[] {
    const now = this.#d.now();
    const candidates = peersForPacket(this.#d.peers(), ev).filter((p) => this.#d.startMode(p) === 'trap' && !this.#d.inClear(p));
    if (candidates.length === 0) return [];
    const busy = this.#d.busy();
    const started: string[] = [];
    for (const p of candidates) {
      const last = this.#startedAt.get(p);
      if (busy.has(p) || (last !== undefined && now - last < TRAP_HOLDOFF_MS)) continue;
      this.#startedAt.set(p, now);
      started.push(p);
      this.#d.initiate(p);
    }
    return started;
  }

  /** Forget peers no longer configured (bounded by the peer count). */
  prune(names: ReadonlySet<string>): void {
    for (const p of this.#startedAt.keys()) if (!names.has(p)) this.#startedAt.delete(p);
  }
}
