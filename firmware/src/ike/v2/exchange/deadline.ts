// When an IKEv2 SA next needs the clock (Ikev2Node.tick): the node keeps its
// SAs in a deadline index (ike/common/sa-index.ts) and ticks only the due
// ones. Mirrors every time condition of Ikev2Node.tick(); before the instant
// returned, tick() has nothing to do for the SA (ikev2-timer-index.test.ts).

import { HALF_OPEN_TIMEOUT_MS } from '../../exchange/types.ts';
import type { IkeSaV2 } from './state.ts';
import { REASSEMBLY_TIMEOUT_MS } from '../wire/fragments.ts';

/** Rekey the IKE SA this long (fraction of its lifetime) before it ends. */
export const IKE_REKEY_MARGIN = 0.1;

/** When the IKE SA's initiator rekeys it: IKE_REKEY_MARGIN before it ends, or later after a refusal (rekey-retry.ts). */
export const ikeRekeyAt = (sa: IkeSaV2): number =>
  Math.max(sa.expiresAt - sa.peer.ikeLifetimeSeconds * 1000 * IKE_REKEY_MARGIN, sa.rekeyRetryAt ?? -Infinity);

export function nextDeadlineV2(sa: IkeSaV2): number {
  if (sa.state === 'DEAD') return Infinity;
  let at = Infinity;
  const soon = (t: number): void => {
    if (t < at) at = t;
  };
  if (sa.state === 'INIT_DONE') soon(sa.createdAt + HALF_OPEN_TIMEOUT_MS);
  if (sa.pending) soon(sa.pending.nextAt);
  // RFC 7383 reassembly: an incomplete message is dropped after REASSEMBLY_TIMEOUT_MS.
  if (sa.assembly) soon(sa.assembly.startedAt + REASSEMBLY_TIMEOUT_MS + 1);
  if (sa.state !== 'ESTABLISHED') return at;
  for (const c of sa.children) {
    soon(c.expiresAt);
    if (!c.rekeying) soon(c.rekeyAt);
  }
  // RFC 9370 §2.2.2: a peer's CREATE_CHILD_SA whose IKE_FOLLOWUP_KE does not come is dropped.
  for (const f of sa.followups ?? []) soon(f.expiresAt);
  const dpd = sa.peer.dpd;
  if (dpd && !sa.pending) soon(sa.lastHeard + dpd.delaySeconds * 1000);
  if (sa.role === 'initiator' && !sa.rekeying) soon(ikeRekeyAt(sa));
  soon(sa.expiresAt);
  return at;
}
