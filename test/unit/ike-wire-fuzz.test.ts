// Bounded, seeded mutation fuzzing of the decoder on the real strongSwan
// messages plus synthetic ones covering every payload type. Properties:
//  - decodeMessage/decodePayloads never throw;
//  - a rejection has a non-empty reason and an offset inside the input;
//  - anything accepted in cleartext re-encodes to exactly the input bytes
//    (the decoder keeps every bit it does not reject).
// Set IKE_WIRE_FUZZ_ITERATIONS to run longer; IKE_WIRE_FUZZ_SEED to replay.

import { fixture } from '../lib/paths.ts';
import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPcapUdp } from '../lib/pcap.ts';
import { decodeMessage, decodePayloads, encodeMessage, type WireResult } from '../../firmware/src/ike/wire/index.ts';
import { saHeavy, synthetic } from '../lib/ike-seeds.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const pcapFile = fixture('pcaps', 'ikev1-main-quick-natt.pcap');
const ITERATIONS = Number(process.env.IKE_WIRE_FUZZ_ITERATIONS ?? 30000);
const SEED = Number(process.env.IKE_WIRE_FUZZ_SEED ?? 0x1ce1);

/** xorshift32: deterministic, so a failure is reproducible from the seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function mutate(src: Buffer, next: () => number): Buffer {
  const b = Buffer.from(src);
  const ops = 1 + (next() % 4);
  let out = b;
  for (let k = 0; k < ops; k++) {
    const r = next();
    const pos = out.length === 0 ? 0 : next() % out.length;
    switch (r % 8) {
      case 0: // flip one bit
        if (out.length > 0) out[pos] = out[pos]! ^ (1 << (next() % 8));
        break;
      case 1: // random byte
        if (out.length > 0) out[pos] = next() & 0xff;
        break;
      case 2: // small or extreme 16-bit value where lengths and counts live
        if (out.length > 1) {
          const choices = [0, 1, 3, 4, 5, 7, 8, 0xff, 0x100, 0xfffe, 0xffff, next() & 0xffff];
          out.writeUInt16BE(choices[next() % choices.length]!, Math.min(pos, out.length - 2));
        }
        break;
      case 3: // truncate
        out = out.subarray(0, pos);
        break;
      case 4: // append junk
        out = Buffer.concat([out, Buffer.from(Array.from({ length: 1 + (next() % 40) }, () => next() & 0xff))]);
        break;
      case 5: // duplicate a region (repeats payloads, proposals, attributes)
        {
          const len = 1 + (next() % 64);
          out = Buffer.concat([out.subarray(0, pos), out.subarray(pos, pos + len), out.subarray(pos)]);
        }
        break;
      case 6: // delete a region
        out = Buffer.concat([out.subarray(0, pos), out.subarray(pos + 1 + (next() % 16))]);
        break;
      default: // next-payload type at a random payload-ish spot
        if (out.length > 0) out[pos] = [0, 1, 2, 3, 4, 5, 8, 10, 11, 12, 13, 20, 130, 200][next() % 14]!;
    }
  }
  // Half the time keep the header length consistent so mutations reach the payloads.
  if (out.length >= 28 && next() % 2 === 0) out.writeUInt32BE(out.length, 24);
  return out;
}

function checkResult(r: WireResult<unknown>, len: number): string | null {
  if (r.ok) return null;
  if (typeof r.reason !== 'string' || r.reason.length === 0) return 'empty reason';
  if (!Number.isInteger(r.offset) || r.offset < 0 || r.offset > len) return `offset ${r.offset} outside 0..${len}`;
  return null;
}

const seeds: Buffer[] = [synthetic, ...saHeavy];
if (existsSync(pcapFile)) seeds.push(...readPcapUdp(pcapFile).filter((r) => r.kind === 'ike').map((r) => r.payload));

t.test(`decodeMessage: ${ITERATIONS} mutations (seed ${SEED}, ${seeds.length} seed messages)`, async (t) => {
  if (seeds.length === 1 + saHeavy.length) t.comment('capture not found: fuzzing the synthetic message only');
  const next = rng(SEED);
  let accepted = 0;
  let acceptedClear = 0;
  let rejected = 0;
  const problems: string[] = [];
  for (let i = 0; i < ITERATIONS && problems.length < 5; i++) {
    const input = mutate(seeds[i % seeds.length]!, next);
    let r: WireResult<ReturnType<typeof decodeMessage> extends WireResult<infer V> ? V : never>;
    try {
      r = decodeMessage(input);
    } catch (e) {
      problems.push(`iteration ${i}: threw ${String(e)} on ${input.toString('hex')}`);
      continue;
    }
    const bad = checkResult(r, input.length);
    if (bad !== null) problems.push(`iteration ${i}: ${bad}`);
    if (!r.ok) {
      rejected++;
      continue;
    }
    accepted++;
    if (!r.value.encrypted) {
      acceptedClear++;
      const again = encodeMessage(r.value.header, r.value.payloads);
      if (!again.equals(input)) problems.push(`iteration ${i}: accepted but re-encodes differently: ${input.toString('hex')}`);
    }
  }
  t.same(problems, []);
  t.ok(
    acceptedClear > 0 && rejected > 0,
    `mutations exercised both outcomes (accepted ${accepted}, ${acceptedClear} of them cleartext; rejected ${rejected})`,
  );
});

t.test('decodePayloads with padding: random bodies and mutated chains never throw', async (t) => {
  const next = rng(SEED ^ 0x5a5a);
  const chain = synthetic.subarray(28);
  const problems: string[] = [];
  for (let i = 0; i < ITERATIONS / 2 && problems.length < 5; i++) {
    const body =
      i % 2 === 0
        ? mutate(chain, next)
        : Buffer.from(Array.from({ length: next() % 200 }, () => next() & 0xff));
    const first = [1, 4, 5, 8, 11, 12, 13, 20, 21, next() & 0xff][next() % 10]!;
    try {
      const r = decodePayloads(first, body, { allowPadding: true });
      const bad = checkResult(r, body.length);
      if (bad !== null) problems.push(`iteration ${i}: ${bad}`);
    } catch (e) {
      problems.push(`iteration ${i}: threw ${String(e)} on ${body.toString('hex')}`);
    }
  }
  t.same(problems, []);
});
