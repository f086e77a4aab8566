// Carries out what the IKE exchanges ask for (ike/exchange/types.ts Action):
// datagrams out through the transport, SAs into the engine (our copy of the
// keys wiped as soon as the engine has its own), routes for the tunnels,
// log lines, and the bookkeeping behind status, explain and fallback to
// clear. One failing action is logged and the rest still run.

import type { Dataplane } from '../dataplane/dataplane.ts';
import type { CryptoBackend } from '../dataplane/types.ts';
import type { Action } from '../ike/exchange/types.ts';
import type { FailureBook } from '../log/failures.ts';
import type { NegotiationLog } from '../log/negotiation-log.ts';
import type { ClearFallback } from './clear-fallback.ts';
import { failureRecord, type StepTrail } from './failure-records.ts';
import type { IkeTransport } from './ike-transport.ts';
import type { TunnelRoutes } from './tunnel-routes.ts';
import { saSpecOf } from './sa-spec.ts';

export interface ActionExecutorDeps {
  transport: IkeTransport;
  dataplane: Dataplane;
  routes: TunnelRoutes;
  fallback: ClearFallback;
  log: NegotiationLog;
  trail: StepTrail;
  failures: FailureBook;
  /** The last failure per peer, for status; cleared when the peer's SA pair is up. */
  lastError: Map<string, string>;
  backend: CryptoBackend;
  wallClock(): Date;
}

export class ActionExecutor {
  readonly #d: ActionExecutorDeps;

  constructor(deps: ActionExecutorDeps) {
    this.#d = deps;
  }

  readonly apply = (actions: Action[]): void => {
    for (const a of actions) {
      try {
        this.#one(a);
      } catch (e) {
        this.#d.log.log({ level: 'error', phase: 'daemon', step: a.kind.toUpperCase(), message: e instanceof Error ? e.message : String(e) });
      }
    }
  };

  #one(a: Action): void {
    const d = this.#d;
    switch (a.kind) {
      case 'send':
        d.transport.send(a.data, a.to, a.localPort);
        break;
      case 'install':
        try {
          d.dataplane.addSa(saSpecOf(a.sa, d.backend));
        } finally {
          // The engine holds its own copy; ours dies here.
          a.sa.encKey.fill(0);
          a.sa.authKey?.fill(0);
        }
        if (a.sa.direction === 'out') {
          // A pair negotiated for a protocol or ports gets no whole-subnet route: the
          // marks of policy/route-marks.ts bring exactly its traffic to the TUN.
          if (!a.sa.ports) d.routes.add(a.sa.remoteTs, a.sa.peer);
          // The pair is complete only with the outbound SA: a quick mode responder
          // installs its inbound SA at QM2 and may still lose QM3.
          d.lastError.delete(a.sa.peer);
          d.failures.clear(a.sa.peer);
          d.fallback.onInstalled(a.sa.peer);
        }
        break;
      case 'delete':
        d.dataplane.deleteSa(a.spi, a.direction);
        break;
      case 'keepalive':
        d.dataplane.setKeepalive(a.to, a.seconds);
        break;
      case 'update-remote':
        d.dataplane.updateSa(a.spi, 'out', { remote: a.remote });
        break;
      case 'log':
        d.trail.note(a.event);
        d.log.log(a.event);
        break;
      case 'heard':
        d.fallback.onHeard(a.peer);
        break;
      case 'initiating':
        d.fallback.attempt(a.peer);
        break;
      case 'failed':
        d.lastError.set(a.peer, `${a.phase} mode: ${a.reason}`);
        d.fallback.onFailed(a.peer, a.detail.code);
        d.failures.record(failureRecord(a.peer, a.phase, a.detail, d.trail.steps(a.peer), d.wallClock()));
        break;
    }
  }
}
