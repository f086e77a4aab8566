// Routes of the tunnels' remote subnets into the engine's TUN. Fail closed:
// negotiate traffic goes to the engine from the start, which drops it (no SA
// yet) instead of the kernel routing it in clear. A route that cannot be
// added is logged and forgotten, so the next attempt tries again.

import type { Dataplane } from '../dataplane/dataplane.ts';
import type { NegotiationLog } from '../log/negotiation-log.ts';

export class TunnelRoutes {
  /** Remote subnets routed to the TUN (shared with ClearFallback, which removes and restores them). */
  readonly set = new Set<string>();
  readonly #dataplane: Dataplane;
  readonly #log: NegotiationLog;

  constructor(dataplane: Dataplane, log: NegotiationLog) {
    this.#dataplane = dataplane;
    this.#log = log;
  }

  has(cidr: string): boolean {
    return this.set.has(cidr);
  }

  /** Take `cidr` out of the TUN, if routed (a failure is ignored: the route may be gone already). */
  async remove(cidr: string): Promise<void> {
    if (!this.set.delete(cidr)) return;
    await this.#dataplane.deleteRoute(cidr).catch(() => undefined);
  }

  /** Route `cidr` (for `peer`'s tunnel) unless it already is; resolves when done or failed. */
  add(cidr: string, peer: string): Promise<void> {
    if (this.set.has(cidr)) return Promise.resolve();
    this.set.add(cidr);
    return this.#dataplane.addRoute(cidr).catch((e: unknown) => {
      this.set.delete(cidr);
      this.#log.log({ level: 'error', peer, phase: 'daemon', step: 'ROUTE', message: `route ${cidr}: ${String(e)}` });
    });
  }
}
