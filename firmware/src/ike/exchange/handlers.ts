// Handlers keyed by (role, state), and what they return. A handler decides
// about one message in one state and returns a typed outcome: the message to
// send next (and whether main mode is now established), a drop with its code
// (out of place: counted as unexpected), or a failure (fail.ts). The
// dispatcher that owns the table acts on it, so there is one send path and one
// fail path. Every (role, state) has an entry: a handler or an explicit
// refusal, which a unit test enumerates (test/unit/ike-exchange-handlers.test.ts).

import type { ExchangeContext } from './context.ts';
import type { Failure } from './fail.ts';
import type { IsakmpSa, MainMode, MainModeOf, MainModeState } from './isakmp-sa.ts';
import type { Endpoint } from './types.ts';

/** Why a message is dropped without failing anything. */
export type DropCode =
  /** A cleartext step received an encrypted message (no keys yet). */
  | 'encrypted-before-keys'
  /** An encrypted step received a cleartext message. */
  | 'not-encrypted'
  /** The message lacks a payload its step needs. */
  | 'missing-payload'
  /** The state belongs to the other role: such a message answers nothing of ours. */
  | 'other-role'
  /** Main mode is over: its messages are retransmissions or forgeries. */
  | 'after-established'
  /** The SA is removed (or never entered the table). */
  | 'sa-gone'
  /** The SA changed state between lookup and handling (a handler run for another state). */
  | 'wrong-state';

export type Outcome =
  | {
      kind: 'next';
      /** Our next message; `expectReply`: retransmit it until answered. */
      send: { data: Buffer; expectReply: boolean } | null;
      /** Main mode completed with this message. */
      established: { initialContact: boolean } | null;
    }
  | { kind: 'drop'; code: DropCode; why: string }
  | { kind: 'fail'; failure: Failure };

export interface Handler<M> {
  kind: 'handler';
  state: MainModeState;
  run(ctx: ExchangeContext, sa: IsakmpSa, msg: M, from: Endpoint, raw: Buffer): Outcome;
}

export interface Refusal {
  kind: 'refusal';
  code: DropCode;
  why: string;
}

export type Role = IsakmpSa['role'];

/** One entry per role and state: the type checker holds the table complete. */
export type HandlerTable<M> = { [R in Role]: { [S in MainModeState]: Handler<M> | Refusal } };

function inState<S extends MainModeState>(m: MainMode, state: S): m is MainModeOf<S> {
  return m.state === state;
}

/** A handler for `state`: it receives that state's material, typed. */
export function on<S extends MainModeState, M>(
  state: S,
  handle: (ctx: ExchangeContext, sa: IsakmpSa, mm: MainModeOf<S>, msg: M, from: Endpoint, raw: Buffer) => Outcome,
): Handler<M> {
  return {
    kind: 'handler',
    state,
    run: (ctx, sa, msg, from, raw) => {
      const mm = sa.mm;
      if (inState(mm, state)) return handle(ctx, sa, mm, msg, from, raw);
      return { kind: 'drop', code: 'wrong-state', why: `handler for ${state} in ${mm.state}` };
    },
  };
}

export function refuse(code: DropCode, why: string): Refusal {
  return { kind: 'refusal', code, why };
}

/** Runs the entry for the SA's (role, state). */
export function dispatch<M>(table: HandlerTable<M>, ctx: ExchangeContext, sa: IsakmpSa, msg: M, from: Endpoint, raw: Buffer): Outcome {
  const entry = table[sa.role][sa.mm.state];
  if (entry.kind === 'refusal') return { kind: 'drop', code: entry.code, why: `${entry.why} (${sa.role} in ${sa.mm.state})` };
  return entry.run(ctx, sa, msg, from, raw);
}
