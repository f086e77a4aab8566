// Vendor ID payload (RFC 7296 §3.12): opaque data, at least one byte.

import { PayloadType } from './constants.ts';
import { NotifyType } from './notify-types.ts';
import type { VendorIdPayload } from './payloads.ts';
import { fail, ok, type WireResult } from './result.ts';

export function decodeVendorId(body: Buffer, base: number): WireResult<VendorIdPayload> {
  if (body.length === 0) return fail('empty Vendor ID', base, NotifyType.INVALID_SYNTAX);
  return ok({ type: PayloadType.VENDOR_ID, data: Buffer.from(body) });
}

export function encodeVendorId(p: Pick<VendorIdPayload, 'data'>): Buffer {
  return Buffer.from(p.data);
}
