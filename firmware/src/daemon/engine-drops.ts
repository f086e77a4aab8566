// Notifications the ESP engine could not hand to JavaScript (its queue was full
// or over the IKE budget, native/binding/addon.cc): counted exactly by the engine
// (sitelinkctl counters: IKE dropped, events lost) and reported in the log as one
// line per period in which the counts rose, never one per datagram.

import type { LogEvent } from '../log/negotiation-log.ts';

export interface EngineDropCounts {
  ikeDropped: bigint;
  eventsDropped: bigint;
}

export class EngineDropWatch {
  #last: EngineDropCounts;

  constructor(start: EngineDropCounts) {
    this.#last = { ...start };
  }

  /** A log line when either count rose since the last call, else null. */
  check(now: EngineDropCounts, periodSeconds: number): LogEvent | null {
    const ike = now.ikeDropped - this.#last.ikeDropped;
    const events = now.eventsDropped - this.#last.eventsDropped;
    this.#last = { ...now };
    if (ike <= 0n && events <= 0n) return null;
    return {
      level: 'warning',
      phase: 'daemon',
      step: 'ENGINE',
      message:
        `ESP engine: ${ike} IKE datagram(s) on the NAT-T port and ${events} SA event(s) not delivered ` +
        `in the last ${periodSeconds} s (daemon behind or IKE budget full)`,
      data: { ikeDropped: Number(ike), eventsDropped: Number(events) },
    };
  }
}
