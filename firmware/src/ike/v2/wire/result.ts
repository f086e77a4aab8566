// IKEv2 decode results: the shared result shape (../../common/wire-result.ts)
// with the notify narrowed to the RFC 7296 §3.10.1 error a responder would
// send for the problem found (INVALID_SYNTAX for nearly every malformation).

import type { NotifyType } from './notify-types.ts';
import type { WireError as CommonWireError, WireResult as CommonWireResult } from '../../common/wire-result.ts';

export type { WireOk } from '../../common/wire-result.ts';
export { ok, fail } from '../../common/wire-result.ts';

export type WireError = CommonWireError<NotifyType>;
export type WireResult<T> = CommonWireResult<T, NotifyType>;
