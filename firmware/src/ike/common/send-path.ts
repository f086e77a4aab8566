// The one way an IKE node (IKEv1 ike-node.ts, IKEv2 node.ts) puts datagrams on
// the wire: a new message, a retransmission of ours when its timer runs out
// (RFC 2408 leaves the schedule to us, RFC 7296 §2.1), or our last answer
// repeated for a duplicate request (RFC 2409 §5, RFC 7296 §2.1). Every one is a
// 'send' action pushed here; resends are counted and retransmissions logged
// here, so no exchange module pushes a stored datagram past the bookkeeping.
// What the node does to every 'send' on its way out (IKEv1 fragmentation at
// drain time) applies to all three alike.

import type { Phase } from '../../log/negotiation-log.ts';
import type { Severity } from '../../log/syslog.ts';
import type { Action, Endpoint } from '../exchange/types.ts';

/** One datagram and the local port it leaves from (4500: the engine's NAT-T socket). */
export interface Datagram {
  data: Buffer;
  to: Endpoint;
  localPort: number;
}

export type SendReason =
  /** A message sent for the first time. */
  | { kind: 'new' }
  /** Our message again: its reply did not come before the timer (`attempt` counts from 1). */
  | { kind: 'retransmit'; attempt: number; phase: Phase; step: string; message: string; data?: Record<string, unknown> }
  /** Our last answer again, for a copy of the request it answered (from the SA's cache). */
  | { kind: 'repeat' };

/** What the send path needs of a node. */
export interface SendHost<SA> {
  readonly out: Action[];
  log(level: Severity, sa: SA | null, phase: Phase, step: string, message: string, data?: Record<string, unknown>): void;
  /** Count a datagram sent again (each version names its counters). */
  countResend(kind: 'retransmit' | 'repeat'): void;
}

/** Sends `datagrams` (one message, or its fragments) for `sa` (null: a stateless answer such as an IKEv2 COOKIE). */
export function transmit<SA>(host: SendHost<SA>, sa: SA | null, datagrams: readonly Datagram[], why: SendReason): void {
  if (datagrams.length === 0) return;
  if (why.kind === 'retransmit') {
    host.countResend('retransmit');
    host.log('info', sa, why.phase, why.step, why.message, { attempt: why.attempt, ...why.data });
  } else if (why.kind === 'repeat') host.countResend('repeat');
  for (const d of datagrams) host.out.push({ kind: 'send', localPort: d.localPort, to: d.to, data: d.data });
}
