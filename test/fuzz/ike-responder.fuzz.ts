// Datagrams from the network into a responding IkeNode: what anyone can send
// to UDP 500/4500 (after the engine strips the non-ESP marker), from the
// configured peer's address. Seeds are strongSwan's main and quick mode
// messages from a real capture. Input format and properties:
// lib/exchange.ts responderFuzz; half-open main modes stay bounded.
import { HALF_OPEN_MAX } from '../../firmware/src/ike/exchange/types.ts';
import type { IkeNode } from '../../firmware/src/ike/exchange/ike-node.ts';
import { responderFuzz } from './lib/exchange.ts';

const bound = (node: IkeNode): string | null => (node.sasOf('gwA').length <= HALF_OPEN_MAX + 8 ? null : 'half-open SAs past the bound');

export function fuzz(data: Buffer): void {
  responderFuzz<IkeNode>(data, undefined, bound);
}
