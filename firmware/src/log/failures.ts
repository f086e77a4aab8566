/**
 * The last failed negotiation per peer (for `sitelinkctl explain`). The IKE code calls
 * record() when a negotiation fails and clear() when one succeeds.
 */
import type { FailureRecord } from './failure-record.ts';
import { redactor } from './redact.ts';

export class FailureBook {
  readonly #byPeer = new Map<string, FailureRecord>();

  record(r: FailureRecord): void {
    // Stored redacted: the record is only ever shown to operators.
    this.#byPeer.set(r.peer, redactor.redact(r) as FailureRecord);
  }

  get(peer: string): FailureRecord | null {
    return this.#byPeer.get(peer) ?? null;
  }

  clear(peer: string): void {
    this.#byPeer.delete(peer);
  }
}
