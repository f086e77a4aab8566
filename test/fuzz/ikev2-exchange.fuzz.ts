// A real IKEv2 negotiation (IKE_SA_INIT, IKE_AUTH with the first child SA,
// then rekeying and DPD as time passes) between two Ikev2Nodes with the
// datagrams on the wire altered by the input. Input format and properties:
// lib/exchange.ts exchangeFuzz.
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import { exchangeFuzz } from './lib/exchange.ts';

export function fuzz(data: Buffer): void {
  exchangeFuzz<Ikev2Node>(data, (env, peers, options) => new Ikev2Node(env, peers, options));
}
