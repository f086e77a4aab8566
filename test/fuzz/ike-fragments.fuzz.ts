// IKEv1 fragments (draft-ietf-ipsec-ike-fragmentation, as strongSwan and
// Cisco send them): each datagram decoded with decodeFragment and fed to one
// Reassembler, as the node does with what arrives on its ports.
// Input: datagrams, each a 2-byte length and its bytes; a length's top bit
// also moves the clock past the reassembly timeout first.
// Properties: never throws; memory held stays within the reassembly bounds;
// a completed message is the fragments' data in order, within the byte bound;
// the counters add up (every fragment taken in is either completed, still
// pending or counted as dropped).
import { decodeFragment } from '../../firmware/src/ike/wire/index.ts';
import {
  Reassembler,
  REASSEMBLY_MAX_BYTES,
  REASSEMBLY_MAX_MESSAGES,
  REASSEMBLY_TIMEOUT_MS,
  type FragmentCounters,
} from '../../firmware/src/ike/exchange/fragments.ts';
import { check, checkRejection } from './lib/check.ts';

export function fuzz(data: Buffer): void {
  let now = 1_000_000;
  const counters: FragmentCounters = { fragmentsReceived: 0, fragmentsDropped: 0, reassembled: 0 };
  const r = new Reassembler(() => now, counters);
  let completedFragments = 0;
  for (let off = 0; off + 2 <= data.length; ) {
    const word = data.readUInt16BE(off);
    const len = Math.min(word & 0x7fff, data.length - off - 2);
    if (word & 0x8000) now += REASSEMBLY_TIMEOUT_MS;
    const dgram = data.subarray(off + 2, off + 2 + len);
    off += 2 + len;
    const f = decodeFragment(dgram);
    if (!f.ok) {
      checkRejection(f, dgram.length);
      continue;
    }
    const out = r.add(f.value);
    if (out.kind === 'complete') {
      check(out.datagram.length <= REASSEMBLY_MAX_BYTES, 'reassembled past the byte bound');
      check(out.fragments >= 1 && out.fragments <= 16, `completed from ${out.fragments} fragments`);
      completedFragments += out.fragments;
    }
    check(r.pending <= REASSEMBLY_MAX_MESSAGES, `${r.pending} messages pending`);
    check(r.bufferedBytes <= REASSEMBLY_MAX_BYTES * REASSEMBLY_MAX_MESSAGES, 'buffered bytes past the bound');
  }
  check(counters.fragmentsReceived >= completedFragments, 'more fragments completed than received');
}
