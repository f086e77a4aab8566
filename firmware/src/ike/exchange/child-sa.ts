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
export function install(ctx: ExchangeContext, sa: IsakmpSa, qm: QuickModeExchange, esp: EspAlgorithm, peerSpi: Buffer, lifetimeSeconds: number, lifetimeKilobytes: number, gqmxy?: Buffer): void {
  const sizes = espKeySizes(esp);
  const prf = sa.suite!.hash;
  // Initiator's nonce first in both directions (RFC 2409 §5.5: Ni_b | Nr_b).
  const niB = qm.ni;
  const nrB = qm.nr!;
  const base = { skeyidD: sa.keys!.skeyidD, protocol: PROTO_ESP, niB, nrB, ...(gqmxy ? { gqmxy } : {}) };
  const inKeys = espKeys(prf, { ...base, spi: qm.inSpi }, sizes);
  const outKeys = espKeys(prf, { ...base, spi: peerSpi }, sizes);
  wipe(gqmxy);
  const reqid = ctx.nextReqid();
  const udp = udpEncapsulated(sa);
  const common = {
    peer: sa.peer.name,
    tunnel: qm.tunnel.name,
    reqid,
    algorithm: esp,
    local: sa.local,
    remote: sa.remote,
    encap: udp ? ('udp' as const) : ('none' as const),
    localTs: qm.tunnel.local,
    remoteTs: qm.tunnel.remote,
    lifetimeSeconds,
    lifetimeKilobytes,
  };
  // Copies: the KEYMAT buffers are wiped below, before the engine reads the install actions.
  const key = (k: { encKey: Buffer; salt: Buffer; integKey: Buffer }) => ({ encKey: Buffer.concat([k.encKey, k.salt]), ...(k.integKey.length > 0 ? { authKey: Buffer.from(k.integKey) } : {}) });
  ctx.out.push({ kind: 'install', sa: { ...common, direction: 'in', spi: qm.inSpi.readUInt32BE(0), ...key(inKeys) } });
  ctx.out.push({ kind: 'install', sa: { ...common, direction: 'out', spi: peerSpi.readUInt32BE(0), ...key(outKeys) } });
  wipe(inKeys.encKey, inKeys.salt, inKeys.integKey, outKeys.encKey, outKeys.salt, outKeys.integKey);
  const now = ctx.env.now();
  const jitter = 1 - REKEY_JITTER * (ctx.env.random(1)[0]! / 255);
  // The initiator rekeys first; the responder's timer is a fallback a little later.
  const fraction = (qm.role === 'initiator' ? REKEY_FRACTION : REKEY_FRACTION + REKEY_JITTER) * jitter;
  const child: ChildSa = {
    reqid,
    tunnel: qm.tunnel,
    esp,
    inSpi: qm.inSpi.readUInt32BE(0),
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
    encap: common.encap,
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

/** How long the old inbound SA outlives a rekey that we initiated. */
export const REKEY_INBOUND_LINGER_MS = 3000;

/** Remove the lingering inbound SAs whose time is up (all of them with `all`). */
export function expireLingeringInbound(ctx: ExchangeContext, sa: IsakmpSa, now: number, all = false): void {
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
