// A deterministic random source for tests: the AES-256-CTR keystream under
// SHA-256(seed). The same seed and the same sequence of calls give the same
// bytes, so a run of the in-memory IKE harness replays exactly.

import { createCipheriv, createHash } from 'node:crypto';

export function seededRandom(seed: string): (bytes: number) => Buffer {
  const key = createHash('sha256').update(`sitelink test seed\0${seed}`).digest();
  const ctr = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (bytes) => ctr.update(Buffer.alloc(bytes));
}
