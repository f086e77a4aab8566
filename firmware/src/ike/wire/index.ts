// Public surface of the IKEv1/ISAKMP wire format: pure encode/decode, no I/O.
//
// Receiving: decodeMessage(datagram) (non-ESP marker already stripped)
//   -> cleartext: { header, payloads, spans }  (spans give SAi_b/IDii_b bodies)
//   -> E flag:    { header, body }; decrypt body, then
//      decodePayloads(header.nextPayload, plaintext, { allowPadding: true }).
// Failures are { ok: false, reason, offset, notify? }; decoders never throw.
// Sending: builders (mainMode1.., quickModeRest/quickMode1.., informational)
//   -> encodePayloads(list) for the bytes a HASH covers / the plaintext to
//      encrypt -> encodeEncryptedMessage(header, first, ciphertext), or
//      encodeMessage(header, list) for cleartext messages. Encoders throw
//      RangeError only on caller bugs (out-of-range fields).
// Fragments (fragment.ts): isFragmentMessage/decodeFragment on receipt,
//   encodeFragments(datagram, id, limit) to send a large one in pieces.

export * from './constants.ts';
export * from './result.ts';
export * from './attributes.ts';
export * from './lifetimes.ts';
export * from './phase1-attributes.ts';
export * from './ipsec-attributes.ts';
export * from './vendor-ids.ts';
export * from '../common/ip-address.ts';
export * from './payloads.ts';
export { identityData } from './identification.ts';
export { decodePayloadBody, encodePayloadBody, NONCE_MAX, NONCE_MIN } from './payload-body.ts';
export * from './payload-chain.ts';
export * from './header.ts';
export * from './message.ts';
export * from './builders.ts';
export * from './describe.ts';
export * from './fragment.ts';
