// Authentication policy shared by IKEv1 and IKEv2: a peer's methods in order
// of precedence, and a policy identity as the certificate check sees it.

import type { PeerAuth, PeerPolicy } from '../exchange/types.ts';
import type { PeerId } from '../crypto/x509-verify.ts';
import { IdType, type Identity } from '../wire/index.ts';

/** The peer's authentication methods in order of precedence. */
export function authMethodsOf(peer: PeerPolicy): PeerAuth[] {
  if (peer.auth && peer.auth.length > 0) return peer.auth;
  return peer.signature ? [{ kind: 'signature', signature: peer.signature }] : [{ kind: 'psk' }];
}

/** An identity the certificate check can bind to a certificate (x509-verify.ts), or null. */
export function peerIdOf(id: Identity): PeerId | null {
  switch (id.idType) {
    case IdType.IPV4_ADDR:
      return { type: 'ipv4', value: id.address };
    case IdType.IPV6_ADDR:
      return { type: 'ipv6', value: id.address };
    case IdType.FQDN:
      return { type: 'fqdn', value: id.name };
    case IdType.USER_FQDN:
      return { type: 'user_fqdn', value: id.name };
    case IdType.DER_ASN1_DN:
      return { type: 'der_asn1_dn', value: id.data };
    default:
      return null;
  }
}
