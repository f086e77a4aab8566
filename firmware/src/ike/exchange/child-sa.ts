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
import { udpEncapsulated, type ChildSa, type IsakmpSa, type QuickModeExchange } from './isakmp-sa.ts';
import { espKeySizes } from './proposals.ts';

/** Rekey before the soft limit: at 85-90% of the lifetime (jittered so both sides do not collide). */
export const REKEY_FRACTION = 0.85;
export const REKEY_JITTER = 0.05;

/** KEYMAT for the SA whose receiving side chose `spi` (RFC 2409 §5.5). Caller wipes the result. */
function keymat(
  sa: IsakmpSa,
  qm: QuickModeExchange,
  esp: EspAlgorithm,
  spi: Buffer,
  gqmxy: Buffer | undefined,
): { encKey: Buffer; salt: Buffer; integKey: Buffer } {
  // Initiator's nonce first in both directions (RFC 2409 §5.5: Ni_b | Nr_b).
  const base = { skeyidD: sa.keys!.skeyidD, protocol: PROTO_ESP, niB: qm.ni, nrB: qm.nr!, ...(gqmxy ? { gqmxy } : {}) };
  return espKeys(sa.suite!.hash, { ...base, spi }, espKeySizes(esp));
}

/** One direction's install action. The keys are copies: the KEYMAT buffers are wiped right after. */
function pushInstall(
  ctx: ExchangeContext,
  sa: IsakmpSa,
  qm: QuickModeExchange,
  reqid: number,
  direction: 'in' | 'out',
  spi: Buffer,
  esp: EspAlgorithm,
  lifetimeSeconds: number,
  lifetimeKilobytes: number,
  gqmxy: Buffer | undefined,
): void {
  const k = keymat(sa, qm, esp, spi, gqmxy);
  ctx.out.push({
    kind: 'install',
    sa: {
      peer: sa.peer.name,
      tunnel: qm.tunnel.name,
      reqid,
      direction,
      spi: spi.readUInt32BE(0),
      algorithm: esp,
      encKey: Buffer.concat([k.encKey, k.salt]),
      ...(k.integKey.length > 0 ? { authKey: Buffer.from(k.integKey) } : {}),
      local: sa.local,
      remote: sa.remote,
      encap: udpEncapsulated(sa) ? 'udp' : 'none',
      localTs: qm.tunnel.local,
      remoteTs: qm.tunnel.remote,
      ...(qm.tunnel.ports ? { ports: qm.tunnel.ports } : {}),
      lifetimeSeconds,
      lifetimeKilobytes,
    },
  });
  wipe(k.encKey, k.salt, k.integKey);
}

/**
 * Inbound SAs installed ahead of their pair: the responder installs its inbound SA
 * when it sends QM2 (RFC 2409 §5.5 lets it compute KEYMAT then; racoon does the
 * same), because the initiator installs both directions on QM2 and may send ESP on
 * the new SA before our QM3 arrives. Keyed by exchange so that the isakmp-sa.ts
 * shapes need no extra field; the reqid is reserved here so both halves share it.
 */
const preinstalled = new WeakMap<QuickModeExchange, { reqid: number; spi: number }>();

/** Install the inbound SA of `qm` now (responder: at QM2); completePair() adds the outbound one. `gqmxy` is not wiped here. */
export function installInbound(
  ctx: ExchangeContext,
  sa: IsakmpSa,
  qm: QuickModeExchange,
  esp: EspAlgorithm,
  lifetimeSeconds: number,
  lifetimeKilobytes: number,
  gqmxy?: Buffer,
): void {
  const reqid = ctx.nextReqid();
  pushInstall(ctx, sa, qm, reqid, 'in', qm.inSpi, esp, lifetimeSeconds, lifetimeKilobytes, gqmxy);
  preinstalled.set(qm, { reqid, spi: qm.inSpi.readUInt32BE(0) });
}

/**
 * A quick mode whose inbound SA was installed at QM2 will never complete (QM3 never
 * came, failure, ISAKMP SA gone): delete that SA and wipe what could still key the
 * outbound one.
 */
export function dropPreinstalledInbound(ctx: ExchangeContext, sa: IsakmpSa, qm: QuickModeExchange): void {
  const r = preinstalled.get(qm);
  if (!r) return;
  preinstalled.delete(qm);
  ctx.out.push({ kind: 'delete', peer: sa.peer.name, direction: 'in', spi: r.spi });
  wipe(qm.pending?.gqmxy, qm.ni, qm.nr);
  ctx.log('info', sa, 'quick', 'DELETE', 'inbound SA of an unfinished quick mode deleted', {
    tunnel: qm.tunnel.name,
    in: r.spi.toString(16).padStart(8, '0'),
    messageId: qm.messageId,
  });
}

/**
 * Second half of the pair: the outbound SA (same reqid as the inbound one), the
 * ChildSa record, the rekey schedule and make-before-break. Wipes `gqmxy`.
 */
export function completePair(
  ctx: ExchangeContext,
  sa: IsakmpSa,
  qm: QuickModeExchange,
  esp: EspAlgorithm,
  peerSpi: Buffer,
  lifetimeSeconds: number,
  lifetimeKilobytes: number,
  gqmxy?: Buffer,
): void {
  const inbound = preinstalled.get(qm);
  if (!inbound) throw new Error('completePair() without installInbound()');
  preinstalled.delete(qm);
  const reqid = inbound.reqid;
  pushInstall(ctx, sa, qm, reqid, 'out', peerSpi, esp, lifetimeSeconds, lifetimeKilobytes, gqmxy);
  wipe(gqmxy);
  const now = ctx.env.now();
  const jitter = 1 - REKEY_JITTER * (ctx.env.random(1)[0]! / 255);
  // The initiator rekeys first; the responder's timer is a fallback a little later.
  const fraction = (qm.role === 'initiator' ? REKEY_FRACTION : REKEY_FRACTION + REKEY_JITTER) * jitter;
  const child: ChildSa = {
    reqid,
    tunnel: qm.tunnel,
    esp,
    inSpi: inbound.spi,
    outSpi: peerSpi.readUInt32BE(0),
    initiator: qm.role === 'initiator',
    createdAt: now,
    rekeyAt: now + lifetimeSeconds * 1000 * fraction,
    expiresAt: now + lifetimeSeconds * 1000,
    rekeying: false,
  };
  sa.children.push(child);
  ctx.log('info', sa, 'quick', 'INSTALL', 'IPsec SA pair installed', {
    tunnel: qm.tunnel.name,
    in: child.inSpi.toString(16).padStart(8, '0'),
    out: child.outSpi.toString(16).padStart(8, '0'),
    esp,
    encap: udpEncapsulated(sa) ? 'udp' : 'none',
    lifetimeSeconds,
  });
  // Make-before-break: the new pair is in place, now the rekey initiator retires the
  // old one and tells the peer (the responder keeps it until that Delete arrives or
  // it expires, so both sides never delete different pairs after a collision).
  const old = qm.rekeyOf === undefined ? undefined : sa.children.find((c) => c.reqid === qm.rekeyOf);
  // The old inbound SA lingers briefly: the peer keeps sending on the old pair until it
  // has processed QM3 and our Delete, and those packets must not be dropped.
  if (old) retireChild(ctx, sa, old, true, REKEY_INBOUND_LINGER_MS);
}

/** Initiator, on QM2: both directions at once (the responder has its inbound SA already). */
export function install(
  ctx: ExchangeContext,
  sa: IsakmpSa,
  qm: QuickModeExchange,
  esp: EspAlgorithm,
  peerSpi: Buffer,
  lifetimeSeconds: number,
  lifetimeKilobytes: number,
  gqmxy?: Buffer,
): void {
  installInbound(ctx, sa, qm, esp, lifetimeSeconds, lifetimeKilobytes, gqmxy);
  completePair(ctx, sa, qm, esp, peerSpi, lifetimeSeconds, lifetimeKilobytes, gqmxy);
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
  if (!sa.lingeringInbound) return;
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
  if (lingerInboundMs > 0) (sa.lingeringInbound ??= []).push({ spi: c.inSpi, until: ctx.env.now() + lingerInboundMs });
  else ctx.out.push({ kind: 'delete', peer: sa.peer.name, direction: 'in', spi: c.inSpi });
  ctx.out.push({ kind: 'delete', peer: sa.peer.name, direction: 'out', spi: c.outSpi });
  if (notifyPeer && sa.state === 'ESTABLISHED') {
    const spi = Buffer.alloc(4);
    spi.writeUInt32BE(c.inSpi >>> 0);
    sendInformational(ctx, sa, [{ type: PayloadType.DELETE, doi: 1, protocol: ProtocolId.ESP, spiSize: 4, spis: [spi] }]);
  }
  ctx.log('info', sa, 'quick', 'DELETE', 'IPsec SA pair deleted', { tunnel: c.tunnel.name, in: c.inSpi.toString(16), out: c.outSpi.toString(16) });
}
