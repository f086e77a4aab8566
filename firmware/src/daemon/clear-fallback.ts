// "fallback-to-clear" for negotiate rules, driven by policy/fallback.ts: while a
// peer stays silent 3 s after our MM1 (of any negotiation that starts with nothing up:
// at start, on traffic, after DPD or an expiry), the tunnel's remote subnet gets a soft
// SA: its route into the engine's TUN is removed so the kernel routes that traffic in
// clear, and the subnet joins the nft fallback set, the only way clear traffic of such
// rules passes (nft.ts), in and out. Secure negotiation is retried every 5 min; a reply
// from the peer, a failure other than a timeout, or an installed SA ends the soft SA:
// route back, set element gone (fail closed again).
import type { SitelinkConfig } from '../config/types.ts';
import type { PeerPolicy } from '../ike/exchange/types.ts';
import type { LogEvent } from '../log/negotiation-log.ts';
import { FallbackTracker } from '../policy/fallback.ts';

export interface ClearFallbackDeps {
  now(): number;
  /** Routes into the TUN the daemon holds (shared with its install/route code). */
  routes: Set<string>;
  addRoute(cidr: string): Promise<void>;
  deleteRoute(cidr: string): Promise<void>;
  /** Adds (true) or removes the remote subnet from the nft fallback set. */
  setClear(cidr: string, on: boolean): Promise<void>;
  initiate(peer: string): void;
  log(event: LogEvent): void;
}

interface Entry {
  peer: string;
  tunnel: string;
  remote: string;
  tracker: FallbackTracker;
}

export class ClearFallback {
  readonly #d: ClearFallbackDeps;
  #entries = new Map<string, Entry>();

  constructor(deps: ClearFallbackDeps) {
    this.#d = deps;
  }

  /** (Re)build from the running config; trackers of peers in `reset` start over. */
  configure(config: SitelinkConfig, peers: PeerPolicy[], reset: readonly string[] = []): void {
    const next = new Map<string, Entry>();
    for (const p of peers) {
      for (const t of p.tunnels) {
        const enabled = config.rules.some((r) => r.action.kind === 'negotiate' && r.action.name === t.action && r.action.fallbackToClear);
        if (!enabled) continue;
        const key = `${p.name}|${t.name}|${t.remote}`;
        const old = this.#entries.get(key);
        next.set(key, old && !reset.includes(p.name) ? old : { peer: p.name, tunnel: t.name, remote: t.remote, tracker: new FallbackTracker(true) });
      }
    }
    // Soft SAs of tunnels that are gone or start over close again.
    for (const [key, e] of this.#entries) if (next.get(key) !== e && e.tracker.clearAllowed) this.#closeClear(e);
    this.#entries = next;
  }

  /** A main mode to `peer` starts with no SA up (start, trap, DPD restart, retry): every
   * such negotiation may fall back, not only the first one after start or reload. One
   * already running (or on a soft SA, retried on its own schedule) is left alone. */
  attempt(peer: string): void {
    for (const e of this.#entries.values()) {
      if (e.peer !== peer || e.tracker.state === 'negotiating' || e.tracker.state === 'clear') continue;
      e.tracker.start(this.#d.now());
    }
  }

  /** A datagram of a negotiation with the peer arrived (the exchanges' `heard` action):
   * the peer is alive, so this attempt must never fall back to clear. */
  onHeard(peer: string): void {
    this.#update(peer, (t) => t.peerReplied());
  }

  onFailed(peer: string, code: string): void {
    // A timeout is silence, which is what fallback is for; anything else is an answer.
    if (code !== 'timeout') this.#update(peer, (t) => t.failed());
  }

  onInstalled(peer: string): void {
    this.#update(peer, (t) => t.established());
  }

  tick(): void {
    const now = this.#d.now();
    for (const e of this.#entries.values()) {
      const wasClear = e.tracker.clearAllowed;
      const retry = e.tracker.tick(now);
      if (!wasClear && e.tracker.clearAllowed) this.#openClear(e);
      if (retry) {
        e.tracker.start(now);
        this.#d.log({ level: 'info', peer: e.peer, phase: 'daemon', step: 'FALLBACK', message: `rule ${e.tunnel}: retrying secure negotiation` });
        this.#d.initiate(e.peer);
      }
    }
  }

  /** Remote subnets currently passed in clear. */
  clearRemotes(peer?: string): string[] {
    return [...this.#entries.values()].filter((e) => e.tracker.clearAllowed && (peer === undefined || e.peer === peer)).map((e) => e.remote);
  }

  /** No secure retry outside the 5 min schedule while a peer's traffic is in clear. */
  inClear(peer: string): boolean {
    return this.clearRemotes(peer).length > 0;
  }

  #update(peer: string, f: (t: FallbackTracker) => void): void {
    for (const e of this.#entries.values()) {
      if (e.peer !== peer) continue;
      const wasClear = e.tracker.clearAllowed;
      f(e.tracker);
      if (wasClear && !e.tracker.clearAllowed) this.#closeClear(e);
    }
  }

  #openClear(e: Entry): void {
    this.#d.log({
      level: 'warning',
      peer: e.peer,
      phase: 'daemon',
      step: 'FALLBACK',
      message: `rule ${e.tunnel}: peer silent, traffic to ${e.remote} passes in clear (soft SA); secure retry every 5 min`,
    });
    // Both at once: until nft has the element, clear packets are dropped (fail closed).
    const failed = (err: unknown): void => {
      this.#d.log({ level: 'error', peer: e.peer, phase: 'daemon', step: 'ROUTE', message: `soft SA for ${e.remote}: ${String(err)}` });
    };
    this.#d.setClear(e.remote, true).catch(failed);
    this.#d.routes.delete(e.remote);
    this.#d.deleteRoute(e.remote).catch(failed);
  }

  #closeClear(e: Entry): void {
    this.#d.log({
      level: 'info',
      peer: e.peer,
      phase: 'daemon',
      step: 'FALLBACK',
      message: `rule ${e.tunnel}: soft SA ends, traffic to ${e.remote} needs IPsec again`,
    });
    this.#d.setClear(e.remote, false).catch((err: unknown) => {
      this.#d.log({ level: 'error', peer: e.peer, phase: 'daemon', step: 'NFT', message: `soft SA for ${e.remote}: ${String(err)}` });
    });
    if (this.#d.routes.has(e.remote)) return;
    this.#d.routes.add(e.remote);
    this.#d.addRoute(e.remote).catch((err: unknown) => {
      this.#d.routes.delete(e.remote);
      this.#d.log({ level: 'error', peer: e.peer, phase: 'daemon', step: 'ROUTE', message: `route ${e.remote}: ${String(err)}` });
    });
  }
}
