// Everything that happens because time passed: retransmission and give-up
// (RFC 2408 leaves the schedule to us, see retransmit.ts), half-open main
// mode expiry, IPsec SA rekey (make-before-break) and hard expiry, ISAKMP SA
// replacement, and RFC 3706 dead peer detection.

import type { ExchangeContext } from './context.ts';
import { expireLingeringInbound, retireChild } from './child-sa.ts';
import { fail } from './fail.ts';
import { dpdSilence, mainModeSilence, quickModeSilence } from './failure.ts';
import { sendDpd } from './informational.ts';
import type { ChildSa, IsakmpSa } from './isakmp-sa.ts';
import { tunnelMethodNames } from './proposal-names.ts';
import { HALF_OPEN_TIMEOUT_MS } from './types.ts';

/** Start a new main mode this long before the ISAKMP SA expires (IPsec SAs move over). */
export const IKE_REKEY_MARGIN = 0.1;

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
  const dpd = sa.peer.dpd;
  if (dpd && sa.peerDpd) {
    soon(sa.dpdPendingSince !== null ? sa.dpdPendingSince + dpd.timeoutSeconds * 1000 : sa.lastHeard + dpd.delaySeconds * 1000);
  }
  if (sa.role === 'initiator' && !newerSaExists) soon(sa.expiresAt - sa.peer.ikeLifetimeSeconds * 1000 * IKE_REKEY_MARGIN);
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
    dpdTimer(host, sa, now);
    if (sa.state !== 'ESTABLISHED') continue;
    if (sa.role === 'initiator' && now >= sa.expiresAt - sa.peer.ikeLifetimeSeconds * 1000 * IKE_REKEY_MARGIN) {
      if (!host.sasOf(sa.peer.name).some((o) => o !== sa && o.createdAt > sa.createdAt)) host.replaceIsakmpSa(sa);
    }
    if (now >= sa.expiresAt) {
      host.log('info', sa, 'main', 'EXPIRE', 'ISAKMP SA lifetime over');
      host.removeSa(sa, true);
    }
  }
}

function mainModeTimers(host: TimerHost, sa: IsakmpSa, now: number): void {
  if (sa.role === 'responder' && now - sa.createdAt > HALF_OPEN_TIMEOUT_MS) {
    const reason = 'half-open main mode timed out';
    fail(host, { phase: 'main', sa }, { code: 'half-open-timeout', reason, logMessage: reason });
    return;
  }
  const r = sa.retransmit.tick(now);
  if (r.kind === 'resend') {
    host.counters.retransmitted++;
    host.log('info', sa, 'main', sa.state, `retransmit ${r.attempt}`);
    host.out.push({ kind: 'send', ...r.message });
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
      if (qm.forgetAt !== undefined && now >= qm.forgetAt) {
        sa.quick.delete(qm.messageId);
        sa.crypto?.forget(qm.messageId);
      }
      continue;
    }
    const r = qm.retransmit.tick(now);
    if (r.kind === 'resend') {
      host.counters.retransmitted++;
      host.log('info', sa, 'quick', qm.state, `retransmit ${r.attempt}`, { messageId: qm.messageId });
      host.out.push({ kind: 'send', ...r.message });
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
    }
  }
}

/**
 * Which of two pairs serving one tunnel is the newer one. Pairs installed at the same
 * instant (both sides initiated at once) are ordered by their SPIs, which both sides
 * share (swapped), so both retire the same pair and keep the same one; by time alone
 * each side would keep rekeying its duplicate.
 */
function newerPair(x: ChildSa, c: ChildSa): boolean {
  if (x.createdAt !== c.createdAt) return x.createdAt > c.createdAt;
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
        // initiated at once): retire this one instead of rekeying it.
        retireChild(host, sa, c, true);
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
