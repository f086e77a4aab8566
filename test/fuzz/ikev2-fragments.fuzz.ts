// IKEv2 fragments (RFC 7383 §2.5, §2.6) as a receiver meets them: SKF bodies
// through decodeSkf, and whole SKF datagrams (sealed under fixed keys, so the
// fuzzer gets past the integrity check, as a malicious but authenticated peer
// would) through decodeMessage, openEncrypted and one FragmentAssembly, with
// the node's reset on a timeout or a rejected fragment.
// Input: records | ctl:8 | len:8 | bytes |:
//   ctl & 3 = 0: bytes are an SKF body for decodeSkf (ctl >> 2 = inner first payload);
//   ctl & 3 = 1: a fragment: bytes[0] = number, bytes[1] = total, bytes[2] = inner
//                first payload, the rest its piece of the chain; sealed, decoded,
//                opened and added (ctl bit 2: one bit flipped first, at bytes[3]);
//   ctl & 3 = 2: the reassembly timeout passes (the node starts afresh);
//   ctl & 3 = 3: ignored.
// Properties: nothing throws; rejections carry reason and offset; a flipped
// bit never opens; the assembly holds at most MAX_FRAGMENTS pieces and
// MAX_REASSEMBLED bytes; a completed message is exactly what decoding the
// first copy of each piece, in order, gives (§2.6.1: duplicates discarded).
import {
  decodeMessage,
  decodePayloads,
  decodeSkf,
  EncrId,
  FragmentAssembly,
  IntegId,
  MAX_FRAGMENTS,
  MAX_REASSEMBLED,
  openEncrypted,
  sealEncrypted,
  type HeaderFields,
  type SkKeys,
} from '../../firmware/src/ike/v2/wire/index.ts';
import { encrById, integById } from '../../firmware/src/ike/v2/crypto/transforms.ts';
import { check, checkRejection } from './lib/check.ts';

const encr = encrById(EncrId.AES_CBC, 128)!;
const integ = integById(IntegId.HMAC_SHA2_256_128)!;
const keys: SkKeys = { encr, integ, encKey: Buffer.alloc(encr.keyMaterial, 0x5a), integKey: Buffer.alloc(integ.keyLength, 0xa5) };
const header: HeaderFields = { spiI: Buffer.alloc(8, 1), spiR: Buffer.alloc(8, 2), exchange: 35, flags: 0x08, messageId: 1 };
const iv = Buffer.alloc(encr.ivLength, 0x42);

export function fuzz(data: Buffer): void {
  let assembly = new FragmentAssembly();
  // Model: the first copy of each piece, the total and inner type of the current message.
  let model = new Map<number, Buffer>();
  let first = 0;
  let firstInner = 0;
  const reset = (): void => {
    assembly.clear();
    assembly = new FragmentAssembly();
    model = new Map();
    first = 0;
    firstInner = 0;
  };
  for (let off = 0; off + 2 <= data.length; ) {
    const ctl = data[off]!;
    const bytes = data.subarray(off + 2, off + 2 + data[off + 1]!);
    off += 2 + bytes.length;
    const kind = ctl & 3;
    if (kind === 0) {
      const d = decodeSkf(ctl >> 2, bytes, 4);
      // Offsets count from the SKF generic header (4 bytes before the body).
      if (!d.ok) checkRejection(d, bytes.length + 4);
      else check(d.value.fragmentNumber >= 1 && d.value.fragmentNumber <= d.value.totalFragments, 'accepted an impossible fragment number');
      continue;
    }
    if (kind === 2) {
      reset();
      continue;
    }
    if (kind !== 1 || bytes.length < 4) continue;
    const number = bytes[0]!;
    const total = bytes[1]!;
    const innerFirst = number === 1 ? bytes[2]! : 0;
    const piece = bytes.subarray(4);
    const sealed = sealEncrypted(header, [], innerFirst, piece, keys, iv, { fragmentNumber: number, totalFragments: total });
    const flip = (ctl & 4) !== 0;
    if (flip) sealed[bytes[3]! % sealed.length]! ^= 1 << (bytes[3]! % 8);
    const m = decodeMessage(sealed);
    if (!m.ok) {
      checkRejection(m, sealed.length);
      continue;
    }
    const o = openEncrypted(m.value, keys);
    if (flip) {
      check(!o.ok, 'a flipped bit opened');
      continue;
    }
    if (!o.ok) continue;
    check(o.value.fragment?.fragmentNumber === number && o.value.chain.equals(piece), 'opened to something else than was sealed');
    const r = assembly.add(o.value);
    if (!r.ok) {
      checkRejection({ reason: r.reason, offset: 0 }, 0);
      reset(); // as the node does (node.ts #open)
      continue;
    }
    if (model.size === 0) first = total;
    if (!model.has(number)) {
      model.set(number, Buffer.from(piece));
      if (number === 1) firstInner = innerFirst;
    }
    check(assembly.received <= MAX_FRAGMENTS && assembly.bytes <= MAX_REASSEMBLED, 'assembly past its bounds');
    if (!r.value.done) continue;
    const ordered: Buffer[] = [];
    for (let n = 1; n <= first; n++) ordered.push(model.get(n) ?? Buffer.alloc(0));
    const want = decodePayloads(firstInner, Buffer.concat(ordered));
    if (want.ok) check(JSON.stringify(want.value.payloads) === JSON.stringify(r.value.payloads), 'reassembled a different message');
    reset();
  }
}
