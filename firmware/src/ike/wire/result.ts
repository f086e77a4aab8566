// IKEv1 decode results: the shared result shape (../common/wire-result.ts)
// with the notify narrowed to the RFC 2408 §5 notify types a responder would
// send for the problem found.

import type { NotifyType } from './constants.ts';
import type { WireError as CommonWireError, WireResult as CommonWireResult } from '../common/wire-result.ts';

export type { WireOk } from '../common/wire-result.ts';
export { ok, fail } from '../common/wire-result.ts';

export type WireError = CommonWireError<NotifyType>;
export type WireResult<T> = CommonWireResult<T, NotifyType>;
