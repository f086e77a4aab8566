// Everything that happens because time passed: retransmission and give-up
// (RFC 2408 leaves the schedule to us, see retransmit.ts), half-open main
// mode expiry, IPsec SA rekey (make-before-break) and hard expiry, ISAKMP SA
// replacement, and RFC 3706 dead peer detection.

import { transmit } from '../common/send-path.ts';
import type { ExchangeContext } from './context.ts';
import { expireLingeringInbound, REKEY_INBOUND_LINGER_MS, retireChild } from './child-sa.ts';
import { fail } from './fail.ts';
import { dpdSilence, mainModeSilence, quickModeSilence } from './failure.ts';
import { sendDpd } from './informational.ts';
import { keyedOf, type ChildSa, type IsakmpSa } from './isakmp-sa.ts';
import { tunnelMethodNames } from './proposal-names.ts';
import { HALF_OPEN_TIMEOUT_MS } from './types.ts';

/** Start a new main mode this long before the ISAKMP SA expires (IPsec SAs move over). */
export const IKE_REKEY_MARGIN = 0.1;
/** The responder's margin: either side rekeys before its own expiry, the responder a
 * little later, so that with equal lifetimes the initiator goes first and only one
 * replacement runs; with a shorter lifetime of its own the responder goes first. */
export const IKE_REKEY_MARGIN_RESPONDER = 0.05;

/** When `sa` should be replaced by a new main mode. */
export function replaceAt(sa: IsakmpSa): number {
  return sa.expiresAt - sa.peer.ikeLifetimeSeconds * 1000 * (sa.role === 'initiator' ? IKE_REKEY_MARGIN : IKE_REKEY_MARGIN_RESPONDER);
}

export interface TimerHost extends ExchangeContext {
  sasOf(peer: string): IsakmpSa[];
  /** Initiate again (DPD action restart). */
  restart(peer: string): void;
  /** Start a main mode that will take over `sa`'s IPsec SAs. */
  replaceIsakmpSa(sa: IsakmpSa): void;
}

/**
 * The earliest time at which runTimers() can do anything for `sa` (Infinity: never,
 * until something else changes the SA). Before that instant runTimers() on the SA
 * is a no-op, so a node keeps SAs in a deadline index (ike/common/deadline-heap.ts)
 * and ticks only the due ones. Must mirror every condition below; the unit test
 * ike-timer-index.test.ts checks that against the full scan. `newerSaExists`: the
 * peer has an ISAKMP SA created after this one (no replacement needed).
 */
export function nextDeadline(sa: IsakmpSa, newerSaExists: boolean): number {
  let at = Infinity;
  const soon = (t: number | null | undefined): void => {
    if (t !== null && t !== undefined && t < at) at = t;
  };
  if (sa.lingeringInbound) for (const l of sa.lingeringInbound) soon(l.until);
  if (sa.state === 'DEAD') return at;
  if (sa.state !== 'ESTABLISHED') {
    if (sa.role === 'responder') soon(sa.createdAt + HALF_OPEN_TIMEOUT_MS);
    soon(sa.retransmit.nextAt);
    return at;
  }
  for (const qm of sa.quick.values()) soon(qm.state === 'DONE' ? qm.forgetAt : qm.retransmit.nextAt);
  for (const c of sa.children) {
    soon(c.expiresAt);
    if (!c.rekeying) soon(c.rekeyAt);
  }
  if (sa.retired) return sa.children.length === 0 ? -Infinity : at;
  const dpd = sa.peer.dpd;
  if (dpd && sa.peerDpd) {
    soon(sa.dpdPendingSince !== null ? sa.dpdPendingSince + dpd.timeoutSeconds * 1000 : sa.lastHeard + dpd.delaySeconds * 1000);
  }
  if (!newerSaExists) soon(replaceAt(sa));
  soon(sa.expiresAt);
  return at;
}

export function runTimers(host: TimerHost, sas: readonly IsakmpSa[], now: number): void {
  for (const sa of sas) {
    expireLingeringInbound(host, sa, now);
    if (sa.state === 'DEAD') continue;
    if (sa.state !== 'ESTABLISHED') {
      mainModeTimers(host, sa, now);
      continue;
    }
    quickModeTimers(host, sa, now);
    childTimers(host, sa, now);
    if (sa.retired) {
      // Kept only for its IPsec SA pairs; gone with the last of them.
      if (sa.children.length === 0) host.removeSa(sa, sa.retired === 'expired');
      continue;
    }
    dpdTimer(host, sa, now);
    if (sa.state !== 'ESTABLISHED') continue;
    // Either side replaces its ISAKMP SA before its own expiry (the responder too: its
    // lifetime may be the shorter one).
    const newer = host.sasOf(sa.peer.name).some((o) => o !== sa && o.createdAt > sa.createdAt);
    if (now >= replaceAt(sa) && !newer) host.replaceIsakmpSa(sa);
    if (now >= sa.expiresAt) expire(host, sa);
  }
}

/**
 * The ISAKMP SA's lifetime is over. Its IPsec SA pairs are not: they move to the
 * peer's newest established ISAKMP SA, or stay on this one, retired (keys kept for
 * Deletes, nothing new keyed), until a main mode adopts them or they expire.
 */
function expire(host: TimerHost, sa: IsakmpSa): void {
  const heir = host
    .sasOf(sa.peer.name)
    .filter((o) => o !== sa && o.state === 'ESTABLISHED' && !o.retired)
    .sort((x, y) => y.createdAt - x.createdAt)[0];
  if (heir || sa.children.length === 0) {
    host.log('info', sa, 'main', 'EXPIRE', `ISAKMP SA lifetime over${heir && sa.children.length > 0 ? '; its IPsec SAs move to the newer one' : ''}`);
    if (heir) {
      heir.children.push(...sa.children);
      sa.children = [];
    }
    host.removeSa(sa, true);
    return;
  }
  host.log('info', sa, 'main', 'EXPIRE', `ISAKMP SA lifetime over; its ${sa.children.length} IPsec SA pair(s) live on until a new main mode`);
  sa.retired = 'expired';
  if (!host.sasOf(sa.peer.name).some((o) => o !== sa && o.createdAt > sa.createdAt)) host.replaceIsakmpSa(sa);
}

function mainModeTimers(host: TimerHost, sa: IsakmpSa, now: number): void {
  if (sa.role === 'responder' && now - sa.createdAt > HALF_OPEN_TIMEOUT_MS) {
    const reason = 'half-open main mode timed out';
    fail(host, { phase: 'main', sa }, { code: 'half-open-timeout', reason, logMessage: reason });
    return;
  }
  const r = sa.retransmit.tick(now);
  if (r.kind === 'resend') {
    transmit(host, sa, [r.message], { kind: 'retransmit', attempt: r.attempt, phase: 'main', step: sa.state, message: `retransmit ${r.attempt}` });
  } else if (r.kind === 'give-up') {
    const silence = mainModeSilence(sa);
    fail(host, { phase: 'main', sa }, {
      code: 'timeout',
      reason: `no answer from peer${silence.unanswered ? ` to ${silence.unanswered}` : ''}`,
      logMessage: 'peer did not answer: giving up after retransmissions',
      extra: { waitedSeconds: Math.round((now - sa.createdAt) / 1000), ...silence },
    });
  }
}

function quickModeTimers(host: TimerHost, sa: IsakmpSa, now: number): void {
  for (const qm of [...sa.quick.values()]) {
    if (qm.state === 'DONE') {
      if (now >= qm.forgetAt) {
        sa.quick.delete(qm.messageId);
        keyedOf(sa)?.crypto.forget(qm.messageId);
      }
      continue;
    }
    const r = qm.retransmit.tick(now);
    if (r.kind === 'resend') {
      const data = { messageId: qm.messageId };
      const message = `retransmit ${r.attempt}`;
      transmit(host, sa, [r.message], { kind: 'retransmit', attempt: r.attempt, phase: 'quick', step: qm.state, message, data });
    } else if (r.kind === 'give-up') {
      const names = tunnelMethodNames(qm.tunnel);
      const silence = quickModeSilence(qm.tunnel, qm.role);
      // The whole schedule ran: base * (1 + 2 + ... + 2^tries).
      const waitedSeconds = Math.round((host.retransmit.baseMs * (2 ** (host.retransmit.tries + 1) - 1)) / 1000);
      fail(host, { phase: 'quick', sa, qm, messageId: qm.messageId }, {
        code: 'timeout',
        reason: `no answer from peer to ${silence.unanswered ?? 'our quick mode'}`,
        logMessage: 'no answer to quick mode: giving up',
        extra: { offered: names, acceptable: names, waitedSeconds, ...silence },
      });
      // Silence to a second or later quick mode of an ISAKMP SA that keyed before: the
      // peer may have lost that SA (restarted, its Delete or INITIAL-CONTACT lost). As
      // the seed specifies, a new main mode is tried; it takes over this SA's pairs.
      if (qm.state === 'QM1_SENT' && sa.quickModes > 1 && !sa.retired) {
        host.log('warning', sa, 'quick', 'QM1', 'a later quick mode met silence: trying a new main mode');
        sa.retired = 'expired';
        const rekeyOf = qm.rekeyOf;
        const old = rekeyOf === null ? undefined : sa.children.find((c) => c.reqid === rekeyOf);
        if (old) old.rekeying = true;
        host.startQuickMode(sa, qm.tunnel, rekeyOf ?? undefined);
      }
    }
  }
}

/**
 * Pairs of one tunnel installed this close together come from one collision: both sides
 * rekeyed (or initiated, or started a new main mode) at once, each side's quick mode
 * made a pair, and both sides hold both. A rekey of one pair by the other side comes
 * most of a lifetime later (REKEY_FRACTION, validator minimum 60 s).
 */
export const PAIR_COLLISION_WINDOW_MS = 10_000;

/**
 * Which of two pairs serving one tunnel is the newer one. Both sides must give the same
 * answer, or each retires the pair the other keeps and neither is left: install times
 * differ between the sides by the network delay, so for pairs from one collision they
 * can order the two pairs either way. Those are ordered by their SPIs instead, which
 * both sides share (swapped).
 */
export function newerPair(x: ChildSa, c: ChildSa): boolean {
  if (Math.abs(x.createdAt - c.createdAt) >= PAIR_COLLISION_WINDOW_MS) return x.createdAt > c.createdAt;
  const key = (p: ChildSa): number => Math.min(p.inSpi, p.outSpi);
  return key(x) > key(c);
}

function childTimers(host: TimerHost, sa: IsakmpSa, now: number): void {
  for (const c of [...sa.children]) {
    if (now >= c.expiresAt) {
      host.log('info', sa, 'quick', 'EXPIRE', 'IPsec SA pair reached its hard lifetime', { tunnel: c.tunnel.name });
      retireChild(host, sa, c, true);
    } else if (now >= c.rekeyAt && !c.rekeying) {
      const all = host.sasOf(sa.peer.name).flatMap((o) => o.children);
      if (all.some((x) => x !== c && x.tunnel.name === c.tunnel.name && newerPair(x, c))) {
        // A newer pair already serves this tunnel (the peer rekeyed, or both sides
        // initiated at once): retire this one instead of rekeying it. The peer may be
        // sending on it until our Delete arrives: its inbound SA lingers like a rekey's.
        retireChild(host, sa, c, true, REKEY_INBOUND_LINGER_MS);
      } else {
        c.rekeying = true;
        host.startQuickMode(sa, c.tunnel, c.reqid);
      }
    }
  }
}

/** RFC 3706 §5.5: probe after `delay` of silence, declare the peer dead after `timeout`. */
function dpdTimer(host: TimerHost, sa: IsakmpSa, now: number): void {
  const dpd = sa.peer.dpd;
  if (!dpd || !sa.peerDpd) return;
  if (sa.dpdPendingSince !== null) {
    if (now - sa.dpdPendingSince < dpd.timeoutSeconds * 1000) return;
    fail(host, { phase: 'main', sa }, {
      code: 'dpd-dead',
      reason: 'dead peer',
      logMessage: `no R-U-THERE-ACK for ${dpd.timeoutSeconds}s: peer is dead (${dpd.action})`,
      extra: { waitedSeconds: dpd.timeoutSeconds, detail: 'no answer to RFC 3706 R-U-THERE', ...dpdSilence(sa) },
    });
    if (dpd.action === 'restart') host.restart(sa.peer.name);
    return;
  }
  if (now - sa.lastHeard >= dpd.delaySeconds * 1000) sendDpd(host, sa);
}
