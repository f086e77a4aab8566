// Resolve a phase 1 transform's attributes (RFC 2409 Appendix A: class 1
// Encryption Algorithm, 2 Hash Algorithm, 4 Group Description, 14 Key
// Length) into the concrete algorithms, and apply the weak-algorithm policy:
// group 1, MD5 and DES are refused unless the operator opted in.

import { cipherById } from './cipher.ts';
import type { Phase1Cipher } from './cipher.ts';
import { hashById } from './hash.ts';
import type { HashAlgorithm } from './hash.ts';
import { dhGroupById } from './dh.ts';
import type { DhGroup } from './dh.ts';

export interface Phase1Attributes {
  encryption: number;
  /** Key Length attribute in bits, if present. */
  keyLength?: number;
  hash: number;
  group: number;
}

export interface Phase1Suite {
  cipher: Phase1Cipher;
  /** The hash; the PRF is its HMAC (no PRF attribute negotiated, §5). */
  hash: HashAlgorithm;
  group: DhGroup;
}

export type SuiteResult = { ok: true; suite: Phase1Suite } | { ok: false; reason: string };

export function resolvePhase1Suite(a: Phase1Attributes, opts: { allowWeak: boolean }): SuiteResult {
  const cipher = cipherById(a.encryption, a.keyLength);
  if (!cipher) return { ok: false, reason: `unsupported encryption ${a.encryption}/${a.keyLength ?? '-'}` };
  const hash = hashById(a.hash);
  if (!hash) return { ok: false, reason: `unsupported hash ${a.hash}` };
  const group = dhGroupById(a.group);
  if (!group) return { ok: false, reason: `unsupported DH group ${a.group}` };
  if (!opts.allowWeak) {
    const weak = [cipher, hash, group].filter((x) => x.weak).map((x) => x.name);
    if (weak.length > 0) return { ok: false, reason: `weak algorithm(s) not allowed: ${weak.join(', ')}` };
  }
  return { ok: true, suite: { cipher, hash, group } };
}
