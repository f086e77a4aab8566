// Datagrams from the network into a responding IkeNode: what anyone can send
// to UDP 500/4500 (after the engine strips the non-ESP marker), from the
// configured peer's address. Input: records "flags (bit 0: port 4500, bit 1:
// let 10 s pass first), length (2 bytes), datagram". Seeds are strongSwan's
// main and quick mode messages from a real capture, so mutations start from
// the first message a real initiator sends.
// Properties: receive() and tick() never throw; every reply goes back to the
// sender; half-open state stays bounded.
import { B_ADDR, Harness, NAT_PUBLIC } from '../unit/ike-exchange-harness.ts';
import { HALF_OPEN_MAX } from '../../firmware/src/ike/exchange/types.ts';
import { check } from './lib/check.ts';

export function fuzz(data: Buffer): void {
  const h = new Harness();
  const node = h.b;
  for (let off = 0; off + 3 <= data.length; ) {
    const flags = data[off]!;
    const len = Math.min(data.readUInt16BE(off + 1), data.length - off - 3);
    const dgram = data.subarray(off + 3, off + 3 + len);
    off += 3 + len;
    if (flags & 2) h.clock.t += 10_000;
    const port = flags & 1 ? 4500 : 500;
    const from = { address: NAT_PUBLIC, port };
    const actions = [...node.receive(dgram, from, port), ...(flags & 2 ? node.tick() : [])];
    for (const a of actions) {
      if (a.kind === 'send') check(a.to.address === NAT_PUBLIC, `reply sent to ${a.to.address}, not to the sender`);
    }
    check(node.sasOf('gwA').length <= HALF_OPEN_MAX + 8, 'half-open SAs past the bound');
  }
  void B_ADDR;
  h.clock.t += 600_000;
  node.tick();
}
