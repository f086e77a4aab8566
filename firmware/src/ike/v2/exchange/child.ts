// Child SAs (RFC 7296 §2.17): KEYMAT from SK_d and the nonces of the
// exchange that created them (plus the new g^ir with PFS), the install
// actions for the ESP engine (one per direction, same reqid), and retiring
// a pair. "Initiator" in §2.17 is the initiator of the exchange (IKE_AUTH or
// CREATE_CHILD_SA), which need not be the initiator of the IKE SA.

import type { EspAlgorithm } from '../../../dataplane/types.ts';
import type { EspKeys } from '../../crypto/keymat.ts';
import type { ChosenAddKe } from './addke-proposals.ts';
import { wipe } from '../../crypto/secret.ts';
import { espKeySizes } from '../../exchange/proposals.ts';
import type { ChildSaInstall, TunnelPolicy } from '../../exchange/types.ts';
import { deriveChildKeys } from '../crypto/key-derivation.ts';
import type { TrafficSelector } from '../wire/payloads.ts';
import type { V2Context } from './context.ts';
import type { EspChoice } from './proposals.ts';
import { selectorCidr, type NarrowedTunnel } from './selectors.ts';
import type { ChildSaV2, IkeSaV2 } from './state.ts';

/** Rekey at 85-90% of the lifetime, jittered so both ends rarely start together (§2.8.1 collisions stay rare). */
export const REKEY_FRACTION = 0.85;
export const REKEY_JITTER = 0.05;

export interface NewChild {
  tunnel: TunnelPolicy;
  algorithm: EspAlgorithm;
  inSpi: number;
  outSpi: number;
  /** Our side and the peer's side, as negotiated. */
  local: TrafficSelector;
  remote: TrafficSelector;
  /** Nonces of the creating exchange, initiator's first (§2.17). */
  ni: Buffer;
  nr: Buffer;
  /** We started the creating exchange. */
  weInitiated: boolean;
  gir?: Buffer;
  /** RFC 9370 §2.2.4: SK(1)..SK(n) of the IKE_FOLLOWUP_KE exchanges, and which they were (status). */
  followups?: Buffer[];
  addKe?: ChosenAddKe[];
  pfsGroup: number | null;
  /** Responder of a rekey: hold the outbound SA back until the old pair is deleted. */
  deferOutbound?: boolean;
  /** Extended sequence numbers agreed for the pair. */
  esn?: boolean;
}

/**
 * Responder (IKE_AUTH or CREATE_CHILD_SA): the child our narrowed selectors and chosen proposal
 * describe; TSr is our side (§2.9). `ni`/`nr` are the creating exchange's nonces (§2.17).
 */
export function responderChild(n: NarrowedTunnel, choice: EspChoice, inSpi: number, ni: Buffer, nr: Buffer, pfsGroup: number | null): NewChild {
  return {
    tunnel: n.tunnel,
    algorithm: choice.algorithm,
    inSpi,
    outSpi: choice.peerSpi,
    local: n.tsr,
    remote: n.tsi,
    ni,
    nr,
    weInitiated: false,
    pfsGroup,
    esn: choice.esn,
  };
}

export const udpEncapsulated = (sa: IkeSaV2): boolean => sa.natLocal || sa.natRemote;

function installOf(sa: IkeSaV2, c: ChildSaV2, direction: 'in' | 'out', keys: EspKeys): ChildSaInstall {
  const method = c.tunnel.methods.find((m) => m.esp === c.algorithm)!;
  return {
    peer: sa.peer.name,
    tunnel: c.tunnel.name,
    reqid: c.reqid,
    direction,
    spi: direction === 'in' ? c.inSpi : c.outSpi,
    algorithm: c.algorithm,
    encKey: Buffer.concat([keys.encKey, keys.salt]),
    ...(keys.integKey.length > 0 ? { authKey: Buffer.from(keys.integKey) } : {}),
    local: sa.local,
    remote: sa.remote,
    encap: udpEncapsulated(sa) ? 'udp' : 'none',
    localTs: c.localCidr,
    remoteTs: c.remoteCidr,
    ...(c.tunnel.ports ? { ports: c.tunnel.ports } : {}),
    lifetimeSeconds: method.lifetimeSeconds,
    lifetimeKilobytes: method.lifetimeKilobytes,
    ...(c.esn ? { esn: true } : {}),
  };
}

function push(ctx: V2Context, sa: IkeSaV2, c: ChildSaV2, direction: 'in' | 'out', keys: EspKeys): void {
  ctx.out.push({ kind: 'install', sa: installOf(sa, c, direction, keys) });
}

/**
 * The rekey responder's deferred outbound SA goes in (§2.8: the initiator
 * deleted the old pair, so it has the new inbound SA by now). Before, ESP on
 * the new SPI could overtake the CREATE_CHILD_SA response and find no SA there.
 */
function activateOutbound(ctx: V2Context, sa: IkeSaV2, c: ChildSaV2): void {
  const out = c.pendingOut;
  if (!out) return;
  delete c.pendingOut;
  ctx.out.push({ kind: 'install', sa: { ...out, local: sa.local, remote: sa.remote, encap: udpEncapsulated(sa) ? 'udp' : 'none' } });
  ctx.log('debug', sa, 'quick', 'INSTALL', 'outbound SA of the rekeyed pair installed (it takes over from the old pair, removed next)', {
    tunnel: c.tunnel.name,
    out: c.outSpi.toString(16).padStart(8, '0'),
  });
}

/** Derives the keys, installs both directions and records the child on the IKE SA. */
export function installChild(ctx: V2Context, sa: IkeSaV2, n: NewChild): ChildSaV2 {
  const method = n.tunnel.methods.find((m) => m.esp === n.algorithm);
  if (!method || !sa.keys || !sa.suite) throw new Error('installChild: no method or keys');
  const keys = deriveChildKeys(sa.suite.prf, sa.keys.d, n.ni, n.nr, espKeySizes(n.algorithm), n.gir, n.followups);
  const now = ctx.env.now();
  const jitter = 1 - REKEY_JITTER * (ctx.env.random(1)[0]! / 255);
  const child: ChildSaV2 = {
    tunnel: n.tunnel,
    reqid: ctx.nextReqid(),
    inSpi: n.inSpi,
    outSpi: n.outSpi,
    algorithm: n.algorithm,
    localTs: [n.local],
    remoteTs: [n.remote],
    localCidr: selectorCidr(n.local) ?? n.tunnel.local,
    remoteCidr: selectorCidr(n.remote) ?? n.tunnel.remote,
    pfsGroup: n.pfsGroup,
    ...(n.addKe && n.addKe.length > 0 ? { addKe: n.addKe } : {}),
    esn: n.esn ?? false,
    createdAt: now,
    // The side that created the child rekeys it; the other side's timer is a later fallback,
    // so simultaneous rekeys (§2.8.1) stay the exception.
    rekeyAt: now + method.lifetimeSeconds * 1000 * (n.weInitiated ? REKEY_FRACTION : REKEY_FRACTION + 2 * REKEY_JITTER) * jitter,
    expiresAt: now + method.lifetimeSeconds * 1000,
    rekeying: false,
  };
  // Our inbound SA carries what the peer sends: the exchange initiator's outbound keys come first (§2.17).
  const inbound = n.weInitiated ? keys.responderToInitiator : keys.initiatorToResponder;
  const outbound = n.weInitiated ? keys.initiatorToResponder : keys.responderToInitiator;
  push(ctx, sa, child, 'in', inbound);
  if (n.deferOutbound) child.pendingOut = installOf(sa, child, 'out', outbound);
  else push(ctx, sa, child, 'out', outbound);
  for (const k of [inbound, outbound]) wipe(k.encKey, k.salt, k.integKey);
  wipe(n.gir, ...(n.followups ?? []));
  sa.children.push(child);
  ctx.log('info', sa, 'quick', 'INSTALL', 'child SA pair installed', {
    tunnel: child.tunnel.name,
    in: child.inSpi.toString(16).padStart(8, '0'),
    out: child.outSpi.toString(16).padStart(8, '0'),
    esp: child.algorithm,
    esn: child.esn ? 'yes' : 'no',
    local: child.localCidr,
    remote: child.remoteCidr,
    encap: udpEncapsulated(sa) ? 'udp' : 'none',
  });
  return child;
}

/**
 * Our pair lost a simultaneous rekey (§2.8.1) and its Delete is on its way: we stop
 * sending on it now. The peer drops its inbound SA when that Delete arrives, before
 * our answer to it comes back; until the peer deletes the old pair we send on that one,
 * then on the surviving pair (removeChild activates it).
 */
export function withdrawOutbound(ctx: V2Context, sa: IkeSaV2, c: ChildSaV2): void {
  if (c.pendingOut || c.outWithdrawn) return;
  c.outWithdrawn = true;
  ctx.out.push({ kind: 'delete', peer: sa.peer.name, direction: 'out', spi: c.outSpi });
}

/** Removes a child pair from the engine and the SA (no message; the caller sends or answered a Delete). */
export function removeChild(ctx: V2Context, sa: IkeSaV2, c: ChildSaV2): void {
  const i = sa.children.indexOf(c);
  if (i < 0) return;
  sa.children.splice(i, 1);
  // A pair replaced by a rekey keeps its inbound SA a moment longer (ESP sent on it before the
  // Delete may still be in the engine); the SPI stays reserved until then.
  const replaced = (c.successors ?? []).some((s) => sa.children.includes(s.child));
  if (!replaced) ctx.releaseSpi(c.inSpi);
  // The successor's outbound SA goes in before the old one comes out: the engine sends on
  // the newest of two SAs with the same selectors, and a delete waits for the workers'
  // grace period, so the other order left the flow without an outbound SA for that long
  // (an echo lost now and then under zero-loss rekeys).
  for (const s of c.successors ?? []) if (sa.children.includes(s.child)) activateOutbound(ctx, sa, s.child);
  if (c.pendingOut) {
    wipe(c.pendingOut.encKey, c.pendingOut.authKey);
    delete c.pendingOut;
  } else if (!c.outWithdrawn) ctx.out.push({ kind: 'delete', peer: sa.peer.name, direction: 'out', spi: c.outSpi });
  if (replaced) ctx.lingerInbound(sa.peer.name, c.inSpi);
  else ctx.out.push({ kind: 'delete', peer: sa.peer.name, direction: 'in', spi: c.inSpi });
  ctx.log('info', sa, 'quick', 'DELETE', 'child SA pair removed', {
    tunnel: c.tunnel.name,
    in: c.inSpi.toString(16).padStart(8, '0'),
    out: c.outSpi.toString(16).padStart(8, '0'),
  });
}
