// INFORMATIONAL exchanges (RFC 7296 §1.4, §1.5, §2.4):
//   liveness check (DPD): an empty request, answered empty;
//   Delete of child SAs: the responder answers with Delete of its own
//   inbound SPIs of the same pairs (§1.4.1) and both remove the pairs;
//   Delete of the IKE SA: answered empty, and the SA with its children goes.

import { ExchangeType, PayloadType, ProtocolId } from '../wire/constants.ts';
import type { Message } from '../wire/message.ts';
import { payloadsOfType, type Payload } from '../wire/payloads.ts';
import { removeChild } from './child.ts';
import type { V2Context } from './context.ts';
import { request, respond } from './messages.ts';
import { spiBytes } from './proposals.ts';
import type { ChildSaV2, IkeSaV2 } from './state.ts';

export function sendDpd(ctx: V2Context, sa: IkeSaV2): void {
  request(ctx, sa, ExchangeType.INFORMATIONAL, () => ({ inner: [], purpose: { kind: 'dpd' } }));
}

/** Delete a child pair: tell the peer our inbound SPI, remove the pair when it answers (make-before-break for rekeys). */
export function deleteChild(ctx: V2Context, sa: IkeSaV2, child: ChildSaV2): void {
  child.rekeying = true;
  child.deleting = true;
  request(ctx, sa, ExchangeType.INFORMATIONAL, () =>
    sa.children.includes(child)
      ? {
          inner: [{ type: PayloadType.DELETE, protocol: ProtocolId.ESP, spiSize: 4, spis: [spiBytes(child.inSpi)] }],
          purpose: { kind: 'delete-child', child },
        }
      : null,
  );
}

export function deleteIke(ctx: V2Context, sa: IkeSaV2): void {
  sa.state = 'DELETING';
  sa.queue = [];
  const send = (): void =>
    request(ctx, sa, ExchangeType.INFORMATIONAL, () => ({
      inner: [{ type: PayloadType.DELETE, protocol: ProtocolId.IKE, spiSize: 0, spis: [] }],
      purpose: { kind: 'delete-ike' },
    }));
  // A Delete of the IKE SA does not wait behind other requests: it replaces them.
  sa.pending = null;
  send();
}

/** Responder: returns 'delete-ike' when the peer deleted the IKE SA (the caller removes it). */
export function respondInformational(ctx: V2Context, sa: IkeSaV2, m: Message, inner: readonly Payload[]): 'delete-ike' | 'ok' {
  const deletes = payloadsOfType(inner, PayloadType.DELETE);
  if (deletes.some((d) => d.protocol === ProtocolId.IKE)) {
    respond(ctx, sa, ExchangeType.INFORMATIONAL, m.header.messageId, []);
    ctx.log('info', sa, 'informational', 'DELETE', 'peer deleted the IKE SA', { direction: 'in' });
    return 'delete-ike';
  }
  const ours: Buffer[] = [];
  for (const d of deletes) {
    if (d.protocol !== ProtocolId.ESP) continue;
    for (const s of d.spis) {
      // The peer names its inbound SPI, which is our outbound one.
      const child = sa.children.find((c) => c.outSpi === s.readUInt32BE(0));
      if (!child) continue;
      ours.push(spiBytes(child.inSpi));
      removeChild(ctx, sa, child);
    }
  }
  const out: Payload[] = ours.length ? [{ type: PayloadType.DELETE, protocol: ProtocolId.ESP, spiSize: 4, spis: ours }] : [];
  if (deletes.length === 0) ctx.log('debug', sa, 'dpd', 'INFORMATIONAL', 'liveness check answered', { direction: 'in' });
  respond(ctx, sa, ExchangeType.INFORMATIONAL, m.header.messageId, out);
  return 'ok';
}
