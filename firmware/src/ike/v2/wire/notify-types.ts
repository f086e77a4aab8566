// IKEv2 Notify Message Types (RFC 7296 §3.10.1 and the IANA registry, with
// the RFCs that added them). Types below 16384 are errors, 16384 and above
// are status (§3.10.1). Names are the IANA spellings so logs and `explain`
// match what peers and Wireshark print.

import type { ValueOf } from '../../common/wire-numbers.ts';

export const NotifyType = {
  // Errors (RFC 7296 §3.10.1 unless named)
  UNSUPPORTED_CRITICAL_PAYLOAD: 1,
  INVALID_IKE_SPI: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_SYNTAX: 7,
  INVALID_MESSAGE_ID: 9,
  INVALID_SPI: 11,
  NO_PROPOSAL_CHOSEN: 14,
  INVALID_KE_PAYLOAD: 17,
  AUTHENTICATION_FAILED: 24,
  SINGLE_PAIR_REQUIRED: 34,
  NO_ADDITIONAL_SAS: 35,
  INTERNAL_ADDRESS_FAILURE: 36,
  FAILED_CP_REQUIRED: 37,
  TS_UNACCEPTABLE: 38,
  INVALID_SELECTORS: 39,
  TEMPORARY_FAILURE: 43, // RFC 7296 §2.25
  CHILD_SA_NOT_FOUND: 44, // RFC 7296 §2.25
  STATE_NOT_FOUND: 47, // RFC 9370 §2.2.2: an IKE_FOLLOWUP_KE whose link the responder does not know
  // Status
  INITIAL_CONTACT: 16384,
  SET_WINDOW_SIZE: 16385,
  ADDITIONAL_TS_POSSIBLE: 16386,
  IPCOMP_SUPPORTED: 16387,
  NAT_DETECTION_SOURCE_IP: 16388,
  NAT_DETECTION_DESTINATION_IP: 16389,
  COOKIE: 16390,
  USE_TRANSPORT_MODE: 16391,
  HTTP_CERT_LOOKUP_SUPPORTED: 16392,
  REKEY_SA: 16393,
  ESP_TFC_PADDING_NOT_SUPPORTED: 16394,
  NON_FIRST_FRAGMENTS_ALSO: 16395,
  MOBIKE_SUPPORTED: 16396, // RFC 4555
  ADDITIONAL_IP4_ADDRESS: 16397,
  ADDITIONAL_IP6_ADDRESS: 16398,
  NO_ADDITIONAL_ADDRESSES: 16399,
  UPDATE_SA_ADDRESSES: 16400,
  COOKIE2: 16401,
  NO_NATS_ALLOWED: 16402,
  MULTIPLE_AUTH_SUPPORTED: 16404, // RFC 4739
  ANOTHER_AUTH_FOLLOWS: 16405,
  REDIRECT_SUPPORTED: 16406, // RFC 5685
  EAP_ONLY_AUTHENTICATION: 16417, // RFC 5998
  CHILDLESS_IKEV2_SUPPORTED: 16418, // RFC 6023
  IKEV2_MESSAGE_ID_SYNC_SUPPORTED: 16420, // RFC 6311
  IKEV2_FRAGMENTATION_SUPPORTED: 16430, // RFC 7383
  SIGNATURE_HASH_ALGORITHMS: 16431, // RFC 7427
  USE_PPK: 16435, // RFC 8784
  PPK_IDENTITY: 16436,
  NO_PPK_AUTH: 16437,
  INTERMEDIATE_EXCHANGE_SUPPORTED: 16438, // RFC 9242
  ADDITIONAL_KEY_EXCHANGE: 16441, // RFC 9370 §2.2.2: links IKE_FOLLOWUP_KE exchanges to their CREATE_CHILD_SA
} as const;
export type NotifyType = ValueOf<typeof NotifyType>;

/** RFC 7296 §3.10.1: 0..16383 are error types. */
export const FIRST_STATUS_NOTIFY = 16384;

export function isErrorNotify(type: number): boolean {
  return type < FIRST_STATUS_NOTIFY;
}

const NAMES: ReadonlyMap<number, string> = new Map(Object.entries(NotifyType).map(([name, value]) => [value, name]));

/** The IANA name of a notify type, or `ERROR_n` / `STATUS_n` for one this daemon does not name. */
export function notifyName(type: number): string {
  return NAMES.get(type) ?? `${isErrorNotify(type) ? 'ERROR' : 'STATUS'}_${type}`;
}
