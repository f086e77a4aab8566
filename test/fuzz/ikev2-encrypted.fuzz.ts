// IKEv2 Encrypted payloads (RFC 7296 §3.14, RFC 5282) and their fragments
// (RFC 7383): an inner payload chain from the input sealed with fixed keys
// under each suite, then opened the way a receiver does, so the fuzzer gets
// past the integrity check to the decrypted chain and the reassembly.
// Input: byte 0 = suite (low 3 bits), bit 3 = fragment into SKF pieces (the
// next byte says how many, delivered in an input-chosen order), bit 4 =
// flip one bit of a sealed datagram (the next two bytes say where); byte 1 =
// the inner first payload type; the rest = the inner chain.
// Properties: a flipped bit is never accepted; an intact message opens to
// exactly the sealed chain; reassembly gives what decoding the whole chain
// gives; nothing throws.
import {
  EncrId,
  IntegId,
  decodeMessage,
  decodePayloads,
  FragmentAssembly,
  openEncrypted,
  sealEncrypted,
  type HeaderFields,
  type SkKeys,
} from '../../firmware/src/ike/v2/wire/index.ts';
import { encrById, integById } from '../../firmware/src/ike/v2/crypto/transforms.ts';
import { check } from './lib/check.ts';

function keys(id: number, bits: number | undefined, integId: number | undefined): SkKeys {
  const encr = encrById(id, bits)!;
  const integ = integId === undefined ? undefined : integById(integId)!;
  return { encr, integ, encKey: Buffer.alloc(encr.keyMaterial, 0x5a), integKey: integ ? Buffer.alloc(integ.keyLength, 0xa5) : undefined };
}

const suites: SkKeys[] = [
  keys(EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_256_128),
  keys(EncrId.AES_CBC, 256, IntegId.HMAC_SHA2_512_256),
  keys(EncrId.AES_CBC, 192, IntegId.HMAC_SHA2_384_192),
  keys(EncrId.AES_GCM_16, 128, undefined),
  keys(EncrId.AES_GCM_16, 256, undefined),
  keys(EncrId.AES_GCM_8, 256, undefined),
  keys(EncrId.CHACHA20_POLY1305, undefined, undefined),
];
const header: HeaderFields = { spiI: Buffer.alloc(8, 1), spiR: Buffer.alloc(8, 2), exchange: 35, flags: 0x08, messageId: 3 };

export function fuzz(data: Buffer): void {
  if (data.length < 4) return;
  const k = suites[(data[0]! & 7) % suites.length]!;
  const fragment = (data[0]! & 8) !== 0;
  const flip = (data[0]! & 16) !== 0;
  const innerFirst = data[1]!;
  const pieces = fragment ? 1 + (data[2]! % 8) : 1;
  const where = data.readUInt16BE(2);
  const chain = data.subarray(4);
  const room = Math.max(1, Math.ceil(chain.length / pieces));
  const total = fragment ? Math.max(1, Math.ceil(chain.length / room)) : 1;
  const iv = Buffer.alloc(k.encr.ivLength, 0x42);
  const sealed: Buffer[] = [];
  for (let n = 1; n <= total; n++) {
    const part = fragment ? chain.subarray((n - 1) * room, n * room) : chain;
    const pos = fragment ? { fragmentNumber: n, totalFragments: total } : undefined;
    // An empty piece cannot be sealed as a fragment; the sender never makes one.
    if (fragment && part.length === 0) return;
    sealed.push(sealEncrypted(header, [], n === 1 ? innerFirst : 0, part, k, iv, pos));
  }
  let tampered = -1;
  if (flip) {
    tampered = where % sealed.length;
    const b = sealed[tampered]!;
    const at = where % b.length;
    b[at] = b[at]! ^ (1 << (where % 8));
  }
  const assembly = new FragmentAssembly();
  let assembled: unknown = undefined;
  for (let i = 0; i < sealed.length; i++) {
    const m = decodeMessage(sealed[i]!);
    if (!m.ok) {
      check(i === tampered, `an intact sealed message does not decode: ${m.reason}`);
      continue;
    }
    const o = openEncrypted(m.value, k);
    if (i === tampered) {
      check(!o.ok, 'a flipped bit was accepted');
      continue;
    }
    check(o.ok, `an intact message does not open: ${o.ok ? '' : o.reason}`);
    if (!o.ok) continue;
    const part = fragment ? chain.subarray(i * room, (i + 1) * room) : chain;
    check(o.value.chain.equals(part), 'opened to something else than was sealed');
    if (fragment) {
      const a = assembly.add(o.value);
      if (a.ok && a.value.done) assembled = a.value.payloads;
    }
  }
  if (fragment && tampered < 0) {
    const whole = decodePayloads(innerFirst, chain);
    if (whole.ok) check(JSON.stringify(assembled) === JSON.stringify(whole.value.payloads), 'reassembly differs from decoding the whole chain');
  }
}
