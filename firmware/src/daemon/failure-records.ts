// Turns the exchanges' failure actions into FailureRecords for `sitelinkctl
// explain` (log/failures.ts), adding the time and the recent message steps
// of that peer from the negotiation log events.

import type { ExchangeStep, FailureRecord } from '../log/failure-record.ts';
import type { LogEvent } from '../log/negotiation-log.ts';
import type { FailureDetail } from '../ike/exchange/types.ts';
import { isoTime } from '../base/iso-time.ts';

const KEEP_STEPS = 16;
const V2_STEPS = /^(IKE_SA_INIT|IKE_AUTH|CREATE_CHILD_SA|INFORMATIONAL)$/;

export class StepTrail {
  readonly #byPeer = new Map<string, ExchangeStep[]>();

  /** Remember a log event as a protocol step (only steps that name a message; the
   * failure itself is the record's "Why", not a message anybody sent). */
  note(ev: LogEvent): void {
    if (ev.peer === undefined) return;
    if (V2_STEPS.test(ev.step)) return this.#noteV2(ev.peer, ev);
    if (!/^(MM\d|QM\d|NOTIFY|DELETE|R-U-THERE)/.test(ev.step)) return;
    if (/^(main|quick) mode failed: /.test(ev.message)) return;
    const list = this.#byPeer.get(ev.peer) ?? [];
    // A new MM1/QM1 from us starts a new negotiation.
    if (ev.step === 'MM1' && list.length > 0) list.length = 0;
    // Only a NOTIFY step is the peer's message; other lines may quote what it sent.
    const notify = ev.step === 'NOTIFY' ? /peer sent (\w+)/.exec(ev.message)?.[1] : undefined;
    list.push({ from: notify !== undefined ? 'remote' : 'local', message: `${ev.step}: ${ev.message}`, ...(notify !== undefined ? { notify: notify.replace(/_/g, '-') } : {}) });
    if (list.length > KEEP_STEPS) list.splice(0, list.length - KEEP_STEPS);
    this.#byPeer.set(ev.peer, list);
  }

  /** IKEv2 exchanges (their log lines carry the direction and any notify); our
   * IKE_SA_INIT request starts a new negotiation. */
  #noteV2(peer: string, ev: LogEvent): void {
    if (ev.direction === undefined) return;
    const list = this.#byPeer.get(peer) ?? [];
    if (ev.step === 'IKE_SA_INIT' && ev.direction === 'out' && /^request sent/.test(ev.message)) list.length = 0;
    const notify = typeof ev.data?.['notify'] === 'string' ? ev.data['notify'] : undefined;
    const from = ev.direction === 'in' ? 'remote' : 'local';
    list.push({ from, message: `${ev.step}: ${ev.message}`, ...(notify !== undefined ? { notify } : {}) });
    if (list.length > KEEP_STEPS) list.splice(0, list.length - KEEP_STEPS);
    this.#byPeer.set(peer, list);
  }

  steps(peer: string): ExchangeStep[] {
    return [...(this.#byPeer.get(peer) ?? [])];
  }
}

export function failureRecord(peer: string, phase: 'main' | 'quick', detail: FailureDetail, steps: ExchangeStep[], now: Date): FailureRecord {
  const { code, ...rest } = detail;
  return { ...rest, peer, phase, reason: code, time: isoTime(now), exchange: steps };
}
