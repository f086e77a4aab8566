// The one way an IKEv1 negotiation fails. Every failure, whatever noticed it
// (a handler refusing a message, a peer's notify, retransmission giving up,
// dead peer detection), is a typed code plus its details, and fail() alone
// does what a failure entails, through the fail path both IKE versions share
// (ike/common/fail-path.ts): count it, log it once, record it for
// `sitelinkctl explain` (failure.ts), tell the peer when the code calls for
// a notify, and remove what failed (the ISAKMP SA, or the quick mode with its
// pre-installed inbound SA). Callers never compare reason strings: the code
// decides the record's reason and the log level.

import type { FailureReason } from '../../log/failure-record.ts';
import type { Severity } from '../../log/syslog.ts';
import { ExchangeType, NotifyType, PayloadType, ProtocolId, encodeMessage, notify } from '../wire/index.ts';
import { dropPreinstalledInbound } from './child-sa.ts';
import type { ExchangeContext } from './context.ts';
import { failWith } from '../common/fail-path.ts';
import { mainModeRecord, quickFailureOfNotify, quickModeRecord, type FailureExtra } from './failure.ts';
import { sendInformational } from './informational.ts';
import { keyedOf, wipeQuickMode, type IsakmpSa, type QuickModeExchange } from './isakmp-sa.ts';
import { tunnelMethodNames } from './proposal-names.ts';

/** What went wrong, one code per kind of failure (both phases). */
export type ExchangeError =
  /** Responder: no offered transform matches our proposals (we answer NO-PROPOSAL-CHOSEN). */
  | 'no-proposal'
  /** Responder: the algorithms match but no authentication method does. */
  | 'no-auth-method'
  /** The chosen phase 1 suite is weak or unsupported here (crypto/phase1-suite.ts). */
  | 'suite-refused'
  /** The responder's answer does not fit our offer (SA, auth method, KE length, client IDs). */
  | 'invalid-reply'
  /** A request lacks a payload it needs (quick mode SA or nonce). */
  | 'malformed-request'
  /** A Diffie-Hellman public value we cannot use (length, or refused by the group). */
  | 'invalid-ke'
  /** No key to authenticate with for the negotiated method (no PSK configured). */
  | 'no-credentials'
  /** HASH or signature did not verify, or the message did not decrypt. */
  | 'auth-failed'
  /** The peer cannot read our MM5 and we cannot read its answers: different pre-shared keys. */
  | 'psk-mismatch'
  /** The peer proved an identity that is not the configured one. */
  | 'id-mismatch'
  /** Quick mode client IDs match no tunnel. */
  | 'ts-mismatch'
  /** Quick mode PFS offered and required differ. */
  | 'pfs-mismatch'
  /** Our tunnel's PFS group is not one we can compute. */
  | 'pfs-unsupported'
  /** The peer answered with an error notify (`peerNotify`). */
  | 'peer-notify'
  /** Retransmission gave up: the peer never answered. */
  | 'timeout'
  /** A responder main mode that the initiator did not finish in time (HALF_OPEN_TIMEOUT_MS). */
  | 'half-open-timeout'
  /** RFC 3706: no R-U-THERE-ACK within the DPD timeout. */
  | 'dpd-dead';

interface ErrorRule {
  /** The failure record's reason (log/failure-record.ts); peer-notify derives it from the notify. */
  record: FailureReason;
  level: Severity;
  /** Whether `explain` gets a record. A half-open timeout does not: anyone can cause one
   * with a spoofed MM1, and the records are for negotiations our peers actually ran. */
  recorded: boolean;
  /** The record's free-text detail defaults to the reason; a timeout's record says
   * where the peer went silent instead (failure.ts mainModeSilence). */
  detailed: boolean;
}

const RULES: Readonly<Record<ExchangeError, ErrorRule>> = {
  'no-proposal': { record: 'no-proposal-chosen', level: 'error', recorded: true, detailed: true },
  'no-auth-method': { record: 'no-proposal-chosen', level: 'error', recorded: true, detailed: true },
  'suite-refused': { record: 'no-proposal-chosen', level: 'error', recorded: true, detailed: true },
  'invalid-reply': { record: 'invalid-message', level: 'error', recorded: true, detailed: true },
  'malformed-request': { record: 'invalid-message', level: 'error', recorded: true, detailed: true },
  'invalid-ke': { record: 'invalid-message', level: 'error', recorded: true, detailed: true },
  'no-credentials': { record: 'invalid-message', level: 'error', recorded: true, detailed: true },
  'auth-failed': { record: 'authentication-failed', level: 'error', recorded: true, detailed: true },
  'psk-mismatch': { record: 'authentication-failed', level: 'error', recorded: true, detailed: true },
  'id-mismatch': { record: 'id-mismatch', level: 'error', recorded: true, detailed: true },
  'ts-mismatch': { record: 'ts-mismatch', level: 'error', recorded: true, detailed: true },
  'pfs-mismatch': { record: 'pfs-mismatch', level: 'error', recorded: true, detailed: true },
  'pfs-unsupported': { record: 'invalid-message', level: 'error', recorded: true, detailed: true },
  'peer-notify': { record: 'other', level: 'error', recorded: true, detailed: true },
  timeout: { record: 'timeout', level: 'error', recorded: true, detailed: false },
  'half-open-timeout': { record: 'timeout', level: 'warning', recorded: false, detailed: false },
  'dpd-dead': { record: 'timeout', level: 'error', recorded: true, detailed: false },
};

/** Every code, for tests and status. */
export const EXCHANGE_ERRORS: readonly ExchangeError[] = Object.keys(RULES) as ExchangeError[];

/** One failure: its code and what the log, the record and the peer are told. */
export interface Failure {
  code: ExchangeError;
  /** One line for the log and the record (never key material). */
  reason: string;
  /** The error notify to send the peer (RFC 2408 §3.14.1), and its SPI (quick mode). */
  notify?: { type: number; spi?: Buffer };
  /** peer-notify: the notify type the peer sent. */
  peerNotify?: number;
  /** The log line, when it says more than "<phase> mode failed: <reason>". */
  logMessage?: string;
  /** More fields of the failure record (failure.ts). */
  extra?: FailureExtra;
}

/** What failed: a main mode (or the established ISAKMP SA), or one quick mode under it. */
export type FailTarget =
  | { phase: 'main'; sa: IsakmpSa }
  /** `qm` null: a QM1 refused before its exchange was created (we are the responder). */
  | { phase: 'quick'; sa: IsakmpSa; qm: QuickModeExchange | null; messageId: number };

/** A main mode counts per code here, beside the per-phase totals of ExchangeCounters. */
export type FailureCounts = Record<ExchangeError, number>;

export function emptyFailureCounts(): FailureCounts {
  return Object.fromEntries(EXCHANGE_ERRORS.map((e) => [e, 0])) as FailureCounts;
}

/** The failure record's reason for a notify the peer sent against our main mode. */
function mainFailureOfNotify(notifyType: number): FailureReason {
  switch (notifyType) {
    case NotifyType.NO_PROPOSAL_CHOSEN: return 'no-proposal-chosen';
    case NotifyType.AUTHENTICATION_FAILED: return 'authentication-failed';
    case NotifyType.INVALID_ID_INFORMATION: return 'id-mismatch';
    default: return 'other';
  }
}

/** Unauthenticated notify for main mode failures (RFC 2408 §5: informational without SA protection). */
function cleartextNotify(ctx: ExchangeContext, sa: IsakmpSa, notifyType: number): void {
  const data = encodeMessage(
    { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, exchangeType: ExchangeType.INFORMATIONAL, flags: 0, messageId: 0 },
    [{ type: PayloadType.NOTIFY, doi: 1, protocol: 1, spi: Buffer.concat([sa.ckyI, sa.ckyR]), notifyType, data: Buffer.alloc(0) }],
  );
  ctx.send(sa, data, false, null);
}

/**
 * The fail path. Main mode: the ISAKMP SA goes (without Deletes: the peer either never
 * had it or is dead), except a dead peer with DPD action `hold`, whose SA stays and
 * probes again. Quick mode: the exchange goes with its pre-installed inbound SA; the
 * ISAKMP SA stays.
 */
export function fail(ctx: ExchangeContext, target: FailTarget, f: Failure): void {
  const rule = RULES[f.code];
  if (target.phase === 'main') failMain(ctx, target.sa, f, rule);
  else failQuick(ctx, target.sa, target.qm, target.messageId, f, rule);
}

function failMain(ctx: ExchangeContext, sa: IsakmpSa, f: Failure, rule: ErrorRule): void {
  const dpd = f.code === 'dpd-dead';
  const reason = f.code === 'peer-notify' && f.peerNotify !== undefined ? mainFailureOfNotify(f.peerNotify) : rule.record;
  const n = f.notify;
  failWith(ctx, sa, {
    phase: 'main',
    code: f.code,
    level: rule.level,
    log: { phase: dpd ? 'dpd' : 'main', step: dpd ? 'DEAD' : sa.state, message: f.logMessage ?? `main mode failed: ${f.reason}` },
    record: rule.recorded ? mainModeRecord(sa, reason, f.reason, { ...(rule.detailed ? { detail: f.reason } : {}), ...f.extra }) : null,
    ...(n !== undefined ? { notify: () => cleartextNotify(ctx, sa, n.type) } : {}),
    remove: () => {
      // A dead peer with DPD action `hold` keeps its SA and is probed again.
      if (dpd && sa.peer.dpd?.action === 'hold') sa.dpdPendingSince = null;
      else ctx.removeSa(sa, false);
    },
  });
}

function failQuick(
  ctx: ExchangeContext,
  sa: IsakmpSa,
  qm: QuickModeExchange | null,
  messageId: number,
  f: Failure,
  rule: ErrorRule,
): void {
  const reason = f.code === 'peer-notify' && f.peerNotify !== undefined ? quickFailureOfNotify(f.peerNotify) : rule.record;
  const ours = qm
    ? {
        offered: tunnelMethodNames(qm.tunnel),
        acceptable: tunnelMethodNames(qm.tunnel),
        ...(qm.tunnel.action ? { configField: `filter-actions.${qm.tunnel.action}.security-methods` } : {}),
      }
    : {};
  const extra = { ...(rule.detailed ? { detail: f.reason } : {}), ...ours, ...f.extra };
  const n = f.notify;
  failWith(ctx, sa, {
    phase: 'quick',
    code: f.code,
    level: rule.level,
    log: { phase: 'quick', step: qm?.state ?? 'QM1', message: f.logMessage ?? `quick mode failed: ${f.reason}`, data: { messageId } },
    record: rule.recorded ? quickModeRecord(sa, qm?.role ?? 'responder', reason, f.reason, extra) : null,
    ...(n !== undefined ? { notify: () => sendInformational(ctx, sa, [notify(n.type, ProtocolId.ESP, n.spi ?? Buffer.alloc(4))]) } : {}),
    remove: () => removeQuickMode(ctx, sa, qm, messageId, f.code),
  });
}

/** The quick mode goes with its pre-installed inbound SA; the ISAKMP SA stays. */
function removeQuickMode(ctx: ExchangeContext, sa: IsakmpSa, qm: QuickModeExchange | null, messageId: number, code: ExchangeError): void {
  if (qm) {
    qm.retransmit.stop();
    dropPreinstalledInbound(ctx, sa, qm);
    wipeQuickMode(qm);
    sa.quick.delete(messageId);
    // A rekey that timed out is tried again on the next tick (the old pair is still due);
    // one the peer refused is not, or we would ask again every second.
    const rekeyOf = qm.state === 'QM1_SENT' ? qm.rekeyOf : null;
    if (code === 'timeout' && rekeyOf !== null) {
      const old = sa.children.find((c) => c.reqid === rekeyOf);
      if (old) old.rekeying = false;
    }
  }
  keyedOf(sa)?.crypto.forget(messageId);
}
