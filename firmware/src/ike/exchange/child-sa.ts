// Installed IPsec SA pairs (RFC 2409 §5.5): KEYMAT per direction from the
// SPI the receiving side chose, the install actions for the engine, the
// rekey schedule, and retiring a pair with a Delete to the peer
// (RFC 2408 §3.15).

import type { EspAlgorithm } from '../../dataplane/types.ts';
import { espKeys, PROTO_ESP } from '../crypto/keymat.ts';
import { wipe } from '../crypto/secret.ts';
import { PayloadType, ProtocolId } from '../wire/index.ts';
import type { ExchangeContext } from './context.ts';
import { sendInformational } from './informational.ts';
import {
  udpEncapsulated,
  wipeQuickMode,
  type ChildSa,
  type EstablishedSa,
  type IsakmpSa,
  type KeyedEstablished,
  type QuickModeExchange,
} from './isakmp-sa.ts';
import type { TunnelPolicy } from './types.ts';
import { espKeySizes } from './proposals.ts';

/** Rekey before the soft limit: at 85-90% of the lifetime (jittered so both sides do not collide). */
export const REKEY_FRACTION = 0.85;
export const REKEY_JITTER = 0.05;

/** What keys a pair besides the ISAKMP SA's SKEYID_d: the quick mode's nonces and PFS
 * secret (RFC 2409 §5.5), with the tunnel and our role in it. */
export interface PairInput {
  role: 'initiator' | 'responder';
  tunnel: TunnelPolicy;
  ni: Buffer;
  nr: Buffer;
  gqmxy: Buffer | null;
  /** The reqid of the pair this one replaces (our rekey), or null. */
  rekeyOf: number | null;
}

/** The negotiated algorithm and lifetimes of a pair. */
export interface PairParams {
  esp: EspAlgorithm;
  lifetimeSeconds: number;
  lifetimeKilobytes: number;
}

/** KEYMAT for the SA whose receiving side chose `spi` (RFC 2409 §5.5). Caller wipes the result. */
function keymat(k: KeyedEstablished, x: PairInput, esp: EspAlgorithm, spi: Buffer): { encKey: Buffer; salt: Buffer; integKey: Buffer } {
  // Initiator's nonce first in both directions (RFC 2409 §5.5: Ni_b | Nr_b).
  const base = { skeyidD: k.keys.skeyidD, protocol: PROTO_ESP, niB: x.ni, nrB: x.nr, ...(x.gqmxy ? { gqmxy: x.gqmxy } : {}) };
  return espKeys(k.suite.hash, { ...base, spi }, espKeySizes(esp));
}

/** One direction's install action. The keys are copies: the KEYMAT buffers are wiped right after. */
function pushInstall(
  ctx: ExchangeContext,
  sa: EstablishedSa,
  x: PairInput,
  reqid: number,
  direction: 'in' | 'out',
  spi: Buffer,
  p: PairParams,
): void {
  const k = keymat(sa.mm, x, p.esp, spi);
  ctx.out.push({
    kind: 'install',
    sa: {
      peer: sa.peer.name,
      tunnel: x.tunnel.name,
      reqid,
      direction,
      spi: spi.readUInt32BE(0),
      algorithm: p.esp,
      encKey: Buffer.concat([k.encKey, k.salt]),
      ...(k.integKey.length > 0 ? { authKey: Buffer.from(k.integKey) } : {}),
      local: sa.local,
      remote: sa.remote,
      encap: udpEncapsulated(sa) ? 'udp' : 'none',
      localTs: x.tunnel.local,
      remoteTs: x.tunnel.remote,
      ...(x.tunnel.ports ? { ports: x.tunnel.ports } : {}),
      lifetimeSeconds: p.lifetimeSeconds,
      lifetimeKilobytes: p.lifetimeKilobytes,
    },
  });
  wipe(k.encKey, k.salt, k.integKey);
}

/**
 * Install the inbound SA of a pair now (responder: at QM2, RFC 2409 §5.5 lets it compute
 * KEYMAT then; racoon does the same), because the initiator installs both directions
 * on QM2 and may send ESP on the new SA before our QM3 arrives. The reqid is reserved
 * here so both halves share it; the caller keeps the result in its QM2_SENT state and
 * passes it to completePair(). `gqmxy` is not wiped here.
 */
export function installInbound(ctx: ExchangeContext, sa: EstablishedSa, x: PairInput, inSpi: Buffer, p: PairParams): { reqid: number; spi: number } {
  const reqid = ctx.nextReqid();
  pushInstall(ctx, sa, x, reqid, 'in', inSpi, p);
  return { reqid, spi: inSpi.readUInt32BE(0) };
}

/**
 * A quick mode whose inbound SA was installed at QM2 will never complete (QM3 never
 * came, failure, ISAKMP SA gone): delete that SA and wipe what could still key the
 * outbound one. Other states hold no pre-installed SA.
 */
export function dropPreinstalledInbound(ctx: ExchangeContext, sa: IsakmpSa, qm: QuickModeExchange): void {
  if (qm.state !== 'QM2_SENT') return;
  const spi = qm.inbound.spi;
  ctx.out.push({ kind: 'delete', peer: sa.peer.name, direction: 'in', spi });
  wipeQuickMode(qm);
  ctx.log('info', sa, 'quick', 'DELETE', 'inbound SA of an unfinished quick mode deleted', {
    tunnel: qm.tunnel.name,
    in: spi.toString(16).padStart(8, '0'),
    messageId: qm.messageId,
  });
}

/**
 * Second half of the pair: the outbound SA (same reqid as the inbound one), the
 * ChildSa record, the rekey schedule and make-before-break. Wipes `gqmxy`.
 */
export function completePair(
  ctx: ExchangeContext,
  sa: EstablishedSa,
  x: PairInput,
  inbound: { reqid: number; spi: number },
  p: PairParams & { peerSpi: Buffer },
): void {
  const reqid = inbound.reqid;
  pushInstall(ctx, sa, x, reqid, 'out', p.peerSpi, p);
  wipe(x.gqmxy ?? undefined);
  const now = ctx.env.now();
  const jitter = 1 - REKEY_JITTER * ((ctx.env.random(1)[0] ?? 0) / 255);
  // The initiator rekeys first; the responder's timer is a fallback a little later.
  const fraction = (x.role === 'initiator' ? REKEY_FRACTION : REKEY_FRACTION + REKEY_JITTER) * jitter;
  const child: ChildSa = {
    reqid,
    tunnel: x.tunnel,
    esp: p.esp,
    inSpi: inbound.spi,
    outSpi: p.peerSpi.readUInt32BE(0),
    initiator: x.role === 'initiator',
    createdAt: now,
    rekeyAt: now + p.lifetimeSeconds * 1000 * fraction,
    expiresAt: now + p.lifetimeSeconds * 1000,
    rekeying: false,
  };
  sa.children.push(child);
  ctx.log('info', sa, 'quick', 'INSTALL', 'IPsec SA pair installed', {
    tunnel: x.tunnel.name,
    in: child.inSpi.toString(16).padStart(8, '0'),
    out: child.outSpi.toString(16).padStart(8, '0'),
    esp: p.esp,
    encap: udpEncapsulated(sa) ? 'udp' : 'none',
    lifetimeSeconds: p.lifetimeSeconds,
  });
  // Make-before-break: the new pair is in place, now the rekey initiator retires the
  // old one and tells the peer (the responder keeps it until that Delete arrives or
  // it expires, so both sides never delete different pairs after a collision).
  const old = x.rekeyOf === null ? undefined : sa.children.find((c) => c.reqid === x.rekeyOf);
  // The old inbound SA lingers briefly: the peer keeps sending on the old pair until it
  // has processed QM3 and our Delete, and those packets must not be dropped.
  if (old) retireChild(ctx, sa, old, true, REKEY_INBOUND_LINGER_MS);
}

/**
 * `to` takes over the pairs of `from` (an ISAKMP SA that is over), with the rekeys that
 * `from` had under way for them: those quick modes die with `from`, and a pair left
 * marked as rekeying is never rekeyed again. That happened when both sides' rekeys met
 * the session key refresh limit at once (each refused the other's QM1 and answered with
 * a fresh main mode): the pair outlived its successors and reached its hard lifetime
 * with none. The rekeys are queued on `to`; a tunnel queued there as new (the peer's
 * refused request) is served by the rekey instead of a second pair.
 */
export function adoptPairs(from: IsakmpSa, to: IsakmpSa): void {
  for (const qm of from.quick.values()) {
    if (qm.role !== 'initiator' || qm.state !== 'QM1_SENT' || qm.rekeyOf === null) continue;
    const rekeyOf = qm.rekeyOf;
    if (!from.children.some((c) => c.reqid === rekeyOf) || to.queuedRekeys.some((r) => r.rekeyOf === rekeyOf)) continue;
    to.queuedRekeys.push({ tunnel: qm.tunnel, rekeyOf });
    to.queued = to.queued.filter((t) => t !== qm.tunnel);
  }
  to.children.push(...from.children);
  from.children = [];
}

/** How long the old inbound SA outlives a rekey that we initiated. */
export const REKEY_INBOUND_LINGER_MS = 3000;

/**
 * Remove the lingering inbound SAs whose time is up. With `all` the ISAKMP SA is going
 * away (IkeNode.removeSa): every lingering inbound SA goes, and so do the inbound SAs
 * pre-installed at QM2 for quick modes that now can never complete.
 */
export function expireLingeringInbound(ctx: ExchangeContext, sa: IsakmpSa, now: number, all = false): void {
  if (all) for (const qm of sa.quick.values()) dropPreinstalledInbound(ctx, sa, qm);
  if (sa.lingeringInbound.length === 0) return;
  const keep: { spi: number; until: number }[] = [];
  for (const l of sa.lingeringInbound) {
    if (all || now >= l.until) ctx.out.push({ kind: 'delete', peer: sa.peer.name, direction: 'in', spi: l.spi });
    else keep.push(l);
  }
  sa.lingeringInbound = keep;
}

/** Delete one IPsec SA pair: engine entries, and a Delete to the peer for our inbound SPI (RFC 2408 §3.15). */
export function retireChild(ctx: ExchangeContext, sa: IsakmpSa, c: ChildSa, notifyPeer: boolean, lingerInboundMs = 0): void {
  sa.children = sa.children.filter((x) => x !== c);
  if (lingerInboundMs > 0) sa.lingeringInbound.push({ spi: c.inSpi, until: ctx.env.now() + lingerInboundMs });
  else ctx.out.push({ kind: 'delete', peer: sa.peer.name, direction: 'in', spi: c.inSpi });
  ctx.out.push({ kind: 'delete', peer: sa.peer.name, direction: 'out', spi: c.outSpi });
  if (notifyPeer && sa.state === 'ESTABLISHED') {
    const spi = Buffer.alloc(4);
    spi.writeUInt32BE(c.inSpi >>> 0);
    sendInformational(ctx, sa, [{ type: PayloadType.DELETE, doi: 1, protocol: ProtocolId.ESP, spiSize: 4, spis: [spi] }]);
  }
  ctx.log('info', sa, 'quick', 'DELETE', 'IPsec SA pair deleted', { tunnel: c.tunnel.name, in: c.inSpi.toString(16), out: c.outSpi.toString(16) });
}
