// INFORMATIONAL exchanges (RFC 7296 §1.4, §1.5, §2.4):
//   liveness check (DPD): an empty request, answered empty;
//   Delete of child SAs: the responder answers with Delete of its own
//   inbound SPIs of the same pairs (§1.4.1) and both remove the pairs;
//   Delete of the IKE SA: answered empty, and the SA with its children goes.

import { ExchangeType, PayloadType, ProtocolId } from '../wire/constants.ts';
import type { Message } from '../wire/message.ts';
import type { Payload } from '../wire/payloads.ts';
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

// ---- The handler table (the shape of IKEv1's, ../../exchange/informational.ts) ----
// Each Delete or Notify payload of a request is classified into a kind; the kind's
// handler only decides (a typed outcome), and respondInformational acts on the
// outcomes once. An empty request is the liveness check (§1.4: answered empty).

export type V2InformationalKind = 'delete-ike' | 'delete-esp' | 'delete-other' | 'notify';

export type V2InformationalOutcome =
  | { kind: 'delete-ike' }
  /** The peer's inbound SPIs: our outbound ones (§1.4.1). */
  | { kind: 'delete-esp'; outSpis: number[] }
  | { kind: 'ignored'; why: string };

type InformationalPayload = Extract<Payload, { type: typeof PayloadType.DELETE | typeof PayloadType.NOTIFY }>;

export function v2InformationalKind(p: InformationalPayload): V2InformationalKind {
  if (p.type === PayloadType.NOTIFY) return 'notify';
  if (p.protocol === ProtocolId.IKE) return 'delete-ike';
  return p.protocol === ProtocolId.ESP && p.spiSize === 4 ? 'delete-esp' : 'delete-other';
}

/** Every kind has an entry (the type holds the table complete); handlers only decide. */
export const V2_INFORMATIONAL_HANDLERS: Readonly<Record<V2InformationalKind, (p: InformationalPayload) => V2InformationalOutcome>> = {
  'delete-ike': () => ({ kind: 'delete-ike' }),
  'delete-esp': (p) =>
    p.type === PayloadType.DELETE ? { kind: 'delete-esp', outSpis: p.spis.map((s) => s.readUInt32BE(0)) } : { kind: 'ignored', why: 'not a Delete' },
  'delete-other': () => ({ kind: 'ignored', why: 'Delete of a protocol or SPI size we do not use' }),
  // Status notifies in an INFORMATIONAL request need no action here; an unrecognised
  // error type in a request is ignored (§3.10.1: only responses act on errors).
  notify: () => ({ kind: 'ignored', why: 'notify in an INFORMATIONAL request' }),
};

export function runV2InformationalHandler(p: InformationalPayload): V2InformationalOutcome {
  return V2_INFORMATIONAL_HANDLERS[v2InformationalKind(p)](p);
}

/** Responder: returns 'delete-ike' when the peer deleted the IKE SA (the caller removes it). */
export function respondInformational(ctx: V2Context, sa: IkeSaV2, m: Message, inner: readonly Payload[]): 'delete-ike' | 'ok' {
  const payloads = inner.filter((p): p is InformationalPayload => p.type === PayloadType.DELETE || p.type === PayloadType.NOTIFY);
  const outcomes = payloads.map(runV2InformationalHandler);
  if (outcomes.some((o) => o.kind === 'delete-ike')) {
    respond(ctx, sa, ExchangeType.INFORMATIONAL, m.header.messageId, []);
    ctx.log('info', sa, 'informational', 'DELETE', 'peer deleted the IKE SA', { direction: 'in' });
    return 'delete-ike';
  }
  const ours: Buffer[] = [];
  for (const o of outcomes) {
    if (o.kind !== 'delete-esp') continue;
    for (const spi of o.outSpis) {
      const child = sa.children.find((c) => c.outSpi === spi);
      if (!child) continue;
      // §1.4.1: Deletes that cross (ours of this pair is out and unanswered) get a response
      // without our half, which "could in theory delete the wrong SA".
      const p = sa.pending?.purpose;
      if (p?.kind === 'delete-child' && p.child === child) {
        ctx.log('debug', sa, 'quick', 'DELETE', `our Delete of a ${child.tunnel.name} pair crossed the peer's (§1.4.1): answered without our half`);
      } else ours.push(spiBytes(child.inSpi));
      removeChild(ctx, sa, child);
    }
  }
  const out: Payload[] = ours.length ? [{ type: PayloadType.DELETE, protocol: ProtocolId.ESP, spiSize: 4, spis: ours }] : [];
  if (!payloads.some((p) => p.type === PayloadType.DELETE)) {
    ctx.log('debug', sa, 'dpd', 'INFORMATIONAL', 'liveness check answered', { direction: 'in' });
  }
  respond(ctx, sa, ExchangeType.INFORMATIONAL, m.header.messageId, out);
  return 'ok';
}
