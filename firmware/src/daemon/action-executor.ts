// Carries out what the IKE exchanges ask for (ike/exchange/types.ts Action):
// datagrams out through the transport, SAs into the engine (our copy of the
// keys wiped as soon as the engine has its own), routes for the tunnels,
// log lines, and the bookkeeping behind status, explain and fallback to
// clear. One failing action is logged and the rest still run.
//
// At the start, the first negotiations run beside `nft` (daemon.ts): until the
// policy is in place, what would touch the engine's SAs is held, and so is
// everything after it, to keep the order the exchanges gave (hold/release).

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

/** Actions that change the engine's SAs: held until the start's policy is in place. */
const ENGINE_KINDS: ReadonlySet<Action['kind']> = new Set(['install', 'delete', 'keepalive', 'update-remote']);

/**
 * At most this many actions wait while held (the policy takes a second or two to
 * apply; `nft` gets at most NFT_TIMEOUT_MS). Past it, datagrams to send are dropped,
 * as a lost datagram would be (the exchanges retransmit), and so are log lines (the
 * log aggregates floods anyway); the rest, state the exchanges count on, is kept.
 * Only a datagram flood while the start's first SA waits could get there.
 */
export const HELD_LIMIT = 4096;

export class ActionExecutor {
  readonly #d: ActionExecutorDeps;
  /** Held actions, in order (null: not holding). */
  #held: Action[] | null = null;
  /** Datagrams and log lines dropped past HELD_LIMIT (logged once, at release). */
  #dropped = 0;

  constructor(deps: ActionExecutorDeps) {
    this.#d = deps;
  }

  readonly apply = (actions: Action[]): void => {
    for (const a of actions) {
      const held = this.#held;
      if (held !== null && (held.length > 0 || ENGINE_KINDS.has(a.kind))) {
        this.#hold(held, a);
        continue;
      }
      try {
        this.#one(a);
      } catch (e) {
        this.#d.log.log({ level: 'error', phase: 'daemon', step: a.kind.toUpperCase(), message: e instanceof Error ? e.message : String(e) });
      }
    }
  };

  /** From now on, engine actions (and all after the first of them) wait for release(). */
  hold(): void {
    this.#held ??= [];
  }

  /** Held actions, if any, are carried out in their order; nothing is held any more. */
  release(): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    if (this.#dropped > 0) {
      const n = this.#dropped;
      this.#dropped = 0;
      this.#d.log.log({
        level: 'warning',
        phase: 'daemon',
        step: 'START',
        message: `${n} IKE datagram(s) and log line(s) dropped while the start's policy was applied (over ${HELD_LIMIT} waiting)`,
      });
    }
    this.apply(held);
  }

  /** The start failed: held SAs never reach the engine; their keys die here. Still holding. */
  discardHeld(): void {
    const held = this.#held;
    if (held === null) return;
    for (const a of held.splice(0)) if (a.kind === 'install') wipeKeys(a);
  }

  /** Number of actions waiting for release(). */
  get heldCount(): number {
    return this.#held?.length ?? 0;
  }

  #hold(held: Action[], a: Action): void {
    if (held.length >= HELD_LIMIT && (a.kind === 'send' || a.kind === 'log')) this.#dropped++;
    else held.push(a);
  }

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
          wipeKeys(a);
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

function wipeKeys(a: Extract<Action, { kind: 'install' }>): void {
  a.sa.encKey.fill(0);
  a.sa.authKey?.fill(0);
}
