// One-line, secret-free summaries of messages for logs and status output:
// payload kinds and sizes only, never payload contents (nonces, KE values,
// hashes and signatures are not printed).

import { ExchangeType, NotifyType, PayloadType } from './constants.ts';
import type { DecodedMessage } from './message.ts';
import type { Payload } from './payloads.ts';

const PAYLOAD_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [PayloadType.SA, 'SA'],
  [PayloadType.KE, 'KE'],
  [PayloadType.ID, 'ID'],
  [PayloadType.CERT, 'CERT'],
  [PayloadType.CR, 'CR'],
  [PayloadType.HASH, 'HASH'],
  [PayloadType.SIG, 'SIG'],
  [PayloadType.NONCE, 'No'],
  [PayloadType.NOTIFY, 'N'],
  [PayloadType.DELETE, 'D'],
  [PayloadType.VENDOR_ID, 'V'],
  [PayloadType.NAT_D, 'NAT-D'],
  [PayloadType.NAT_OA, 'NAT-OA'],
  [PayloadType.NAT_D_DRAFT, 'NAT-D(draft)'],
  [PayloadType.NAT_OA_DRAFT, 'NAT-OA(draft)'],
]);

const EXCHANGE_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [ExchangeType.BASE, 'base'],
  [ExchangeType.MAIN, 'main'],
  [ExchangeType.AUTH_ONLY, 'auth-only'],
  [ExchangeType.AGGRESSIVE, 'aggressive'],
  [ExchangeType.INFORMATIONAL, 'informational'],
  [ExchangeType.TRANSACTION, 'transaction'],
  [ExchangeType.QUICK, 'quick'],
  [ExchangeType.NEW_GROUP, 'new-group'],
]);

const NOTIFY_NAMES: ReadonlyMap<number, string> = new Map<number, string>(
  Object.entries(NotifyType).map(([k, v]) => [v, k.replace(/_/g, '-')]),
);

export function payloadName(type: number): string {
  return PAYLOAD_NAMES.get(type) ?? `payload-${type}`;
}

export function exchangeName(type: number): string {
  return EXCHANGE_NAMES.get(type) ?? `exchange-${type}`;
}

export function notifyName(type: number): string {
  return NOTIFY_NAMES.get(type) ?? `notify-${type}`;
}

function payloadSummary(p: Payload): string {
  if (p.type === PayloadType.NOTIFY) return `N(${notifyName(p.notifyType)})`;
  if (p.type === PayloadType.DELETE) return `D(${p.spis.length})`;
  return payloadName(p.type);
}

/** e.g. "main mid=0 [ SA V V V V V ] 180 bytes" or "quick mid=7cdcfa6a encrypted 188 bytes". */
export function describeMessage(m: DecodedMessage): string {
  const h = m.header;
  const head = `${exchangeName(h.exchangeType)} mid=${h.messageId.toString(16)}`;
  if (m.encrypted) return `${head} encrypted ${h.length} bytes`;
  return `${head} [ ${m.payloads.map(payloadSummary).join(' ')} ] ${h.length} bytes`;
}

/** For decrypted payload lists: "[ ID HASH N(INITIAL-CONTACT) ]". */
export function describePayloads(payloads: readonly Payload[]): string {
  return `[ ${payloads.map(payloadSummary).join(' ')} ]`;
}
