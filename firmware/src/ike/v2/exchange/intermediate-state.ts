// What an IKE SA keeps while its IKE_INTERMEDIATE exchanges run (RFC 9242,
// RFC 9370 §2.2.2): the additional key exchanges left and done, the
// initiator's half of the one in flight, and the IntAuth chain AUTH covers.

import { wipe } from '../../crypto/secret.ts';
import type { AddKeInitiator } from '../crypto/additional-ke.ts';
import type { ChosenAddKe } from './addke-proposals.ts';

export interface IntermediateState {
  /** Additional key exchanges still to run, next first. */
  pending: ChosenAddKe[];
  done: ChosenAddKe[];
  /** Initiator: our KE of the exchange in flight. */
  inFlight: AddKeInitiator | null;
  /** IntAuth_iN and IntAuth_rN so far (RFC 9242 §3.3.2; empty before the first exchange). */
  intAuthI: Buffer;
  intAuthR: Buffer;
  /** Message ID of the IKE_AUTH request (IKE_AUTH_MID, RFC 9242 §3.3.2). */
  authMessageId: number;
}

export function newIntermediate(addKe: readonly ChosenAddKe[]): IntermediateState {
  return { pending: [...addKe], done: [], inFlight: null, intAuthI: Buffer.alloc(0), intAuthR: Buffer.alloc(0), authMessageId: 0 };
}

export function wipeIntermediate(s: IntermediateState): void {
  s.inFlight?.wipe();
  s.inFlight = null;
  wipe(s.intAuthI, s.intAuthR);
}
