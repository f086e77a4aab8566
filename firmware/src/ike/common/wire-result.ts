// Decode results shared by the IKEv1 and IKEv2 codecs. Decoders never throw on
// bad input: they return { ok: false } with a precise reason, the byte offset
// (from the start of the buffer handed to the top-level decoder) where the
// problem was found, and, when the RFC names one, the notify type a responder
// would send. Each protocol version narrows `N` to its own notify registry
// (RFC 2408 §3.14.1 for IKEv1, RFC 7296 §3.10.1 for IKEv2).

export interface WireError<N extends number = number> {
  ok: false;
  reason: string;
  offset: number;
  notify?: N;
}

export interface WireOk<T> {
  ok: true;
  value: T;
}

export type WireResult<T, N extends number = number> = WireOk<T> | WireError<N>;

export function ok<T>(value: T): WireOk<T> {
  return { ok: true, value };
}

export function fail<N extends number = never>(reason: string, offset: number, notify?: N): WireError<N> {
  return notify === undefined ? { ok: false, reason, offset } : { ok: false, reason, offset, notify };
}
