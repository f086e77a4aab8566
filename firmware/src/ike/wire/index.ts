// Public surface of the IKEv1/ISAKMP wire format: pure encode/decode, no I/O.

export * from './constants.ts';
export * from './result.ts';
export * from './attributes.ts';
export * from './lifetimes.ts';
export * from './phase1-attributes.ts';
export * from './ipsec-attributes.ts';
export * from './vendor-ids.ts';
export * from './ip-address.ts';
export * from './payloads.ts';
export { identityData } from './identification.ts';
export { decodePayloadBody, encodePayloadBody, NONCE_MAX, NONCE_MIN } from './payload-body.ts';
export * from './payload-chain.ts';
export * from './header.ts';
export * from './message.ts';
export * from './builders.ts';
export * from './describe.ts';
