// Decode results. Decoders in this directory never throw on bad input: they
// return { ok: false } with a precise reason, the byte offset (from the start
// of the buffer handed to the top-level decoder) where the problem was found,
// and, when RFC 2408 §5 names one, the notify type a responder would send.

import type { NotifyType } from './constants.ts';

export interface WireError {
  ok: false;
  reason: string;
  offset: number;
  notify?: NotifyType;
}

export interface WireOk<T> {
  ok: true;
  value: T;
}

export type WireResult<T> = WireOk<T> | WireError;

export function ok<T>(value: T): WireOk<T> {
  return { ok: true, value };
}

export function fail(reason: string, offset: number, notify?: NotifyType): WireError {
  return notify === undefined ? { ok: false, reason, offset } : { ok: false, reason, offset, notify };
}
