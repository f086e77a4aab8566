// Datagrams from the network into a responding Ikev2Node (UDP 500/4500, from
// the configured peer's address), seeded with strongSwan's IKEv2 messages
// from a real capture. Input format and properties: lib/exchange.ts responderFuzz.
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import { responderFuzz } from './lib/exchange.ts';

export function fuzz(data: Buffer): void {
  responderFuzz<Ikev2Node>(data, (env, peers, options) => new Ikev2Node(env, peers, options));
}
