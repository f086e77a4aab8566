// ECDSA over a caller-supplied digest (FIPS 186-4 §6.4), for IKEv1
// signatures where the "digest" is HASH_I/HASH_R itself. node:crypto always
// hashes before ECDSA, so the curve arithmetic is done here with BigInt in
// Jacobian coordinates.
//
// Curve parameters are not transcribed: they are read from an explicit-
// parameters SPKI that node generates for the named curve (RFC 3279 §2.3.5
// ECParameters), so they are OpenSSL's own.
//
// Caveat: BigInt arithmetic is not constant time. Verification handles only
// public values; signing (a few times per IKE SA) leaks timing of the
// nonce/private-key operations to a local observer with precise timing.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { children, expectTag, parseDer, Tag } from './der.ts';
import { bytesToBigInt } from './dh-group.ts';

export type EcCurveName = 'prime256v1' | 'secp384r1' | 'secp521r1';

interface Curve {
  p: bigint;
  a: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
  /** Field/order size in bytes (r and s width in RFC 4754 §7). */
  size: number;
  nBits: number;
}

const cache = new Map<EcCurveName, Curve>();

function curve(name: EcCurveName): Curve {
  const hit = cache.get(name);
  if (hit) return hit;
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: name, paramEncoding: 'explicit' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const alg = children(expectTag(children(parseDer(spki))[0], Tag.SEQUENCE, 'AlgorithmIdentifier'));
  const params = children(expectTag(alg[1], Tag.SEQUENCE, 'ECParameters'));
  const field = children(expectTag(params[1], Tag.SEQUENCE, 'FieldID'));
  const p = bytesToBigInt(expectTag(field[1], Tag.INTEGER, 'prime').content);
  const curveSeq = children(expectTag(params[2], Tag.SEQUENCE, 'Curve'));
  const a = bytesToBigInt(expectTag(curveSeq[0], Tag.OCTET_STRING, 'a').content);
  const base = expectTag(params[3], Tag.OCTET_STRING, 'base').content;
  const n = bytesToBigInt(expectTag(params[4], Tag.INTEGER, 'order').content);
  const size = Math.ceil(p.toString(2).length / 8);
  if (base[0] !== 0x04 || base.length !== 1 + 2 * size) throw new Error('unexpected base point encoding');
  const c: Curve = {
    p,
    a,
    n,
    gx: bytesToBigInt(base.subarray(1, 1 + size)),
    gy: bytesToBigInt(base.subarray(1 + size)),
    size,
    nBits: n.toString(2).length,
  };
  cache.set(name, c);
  return c;
}

const mod = (x: bigint, m: bigint): bigint => {
  const r = x % m;
  return r < 0n ? r + m : r;
};

function inv(x: bigint, m: bigint): bigint {
  // Extended Euclid; m is prime and 0 < x < m.
  let [a, b, u, v] = [mod(x, m), m, 1n, 0n];
  while (a !== 0n) {
    const q = b / a;
    [a, b] = [b - q * a, a];
    [u, v] = [v - q * u, u];
  }
  if (b !== 1n) throw new Error('not invertible');
  return mod(v, m);
}

type Jac = [bigint, bigint, bigint]; // Z = 0: point at infinity
const INF: Jac = [1n, 1n, 0n];

function dbl(c: Curve, [x, y, z]: Jac): Jac {
  if (z === 0n || y === 0n) return INF;
  const p = c.p;
  const yy = (y * y) % p;
  const s = (4n * x * yy) % p;
  const z2 = (z * z) % p;
  const m = mod(3n * x * x + c.a * z2 * z2, p);
  const x3 = mod(m * m - 2n * s, p);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, p);
  return [x3, y3, (2n * y * z) % p];
}

function add(c: Curve, P: Jac, Q: Jac): Jac {
  if (P[2] === 0n) return Q;
  if (Q[2] === 0n) return P;
  const p = c.p;
  const [x1, y1, z1] = P;
  const [x2, y2, z2] = Q;
  const z1z1 = (z1 * z1) % p;
  const z2z2 = (z2 * z2) % p;
  const u1 = (x1 * z2z2) % p;
  const u2 = (x2 * z1z1) % p;
  const s1 = (y1 * z2 * z2z2) % p;
  const s2 = (y2 * z1 * z1z1) % p;
  if (u1 === u2) return s1 === s2 ? dbl(c, P) : INF;
  const h = mod(u2 - u1, p);
  const r = mod(s2 - s1, p);
  const hh = (h * h) % p;
  const hhh = (h * hh) % p;
  const x3 = mod(r * r - hhh - 2n * u1 * hh, p);
  const y3 = mod(r * (u1 * hh - x3) - s1 * hhh, p);
  return [x3, y3, (h * z1 * z2) % p];
}

function mul(c: Curve, k: bigint, P: Jac): Jac {
  let R: Jac = INF;
  for (let i = k.toString(2).length - 1; i >= 0; i--) {
    R = dbl(c, R);
    if ((k >> BigInt(i)) & 1n) R = add(c, R, P);
  }
  return R;
}

function affineX(c: Curve, [x, , z]: Jac): bigint | null {
  if (z === 0n) return null;
  const zi = inv(z, c.p);
  return (x * zi * zi) % c.p;
}

/** FIPS 186-4 §6.4: the leftmost min(bitlen(n), bitlen(digest)) bits. */
function digestToInt(c: Curve, digest: Uint8Array): bigint {
  let e = bytesToBigInt(digest);
  const dBits = digest.length * 8;
  if (dBits > c.nBits) e >>= BigInt(dBits - c.nBits);
  return e;
}

function toFixed(x: bigint, size: number): Buffer {
  return Buffer.from(x.toString(16).padStart(size * 2, '0'), 'hex');
}

function jwkInt(s: string | undefined): bigint {
  if (!s) throw new Error('EC key without the expected JWK member');
  return bytesToBigInt(Buffer.from(s, 'base64url'));
}

/** Sign `digest` as is; returns r | s, each `size` bytes (RFC 4754 §7). */
export function ecdsaSignDigest(name: EcCurveName, privateKey: KeyObject, digest: Uint8Array): Buffer {
  const c = curve(name);
  const d = jwkInt(privateKey.export({ format: 'jwk' }).d);
  const e = digestToInt(c, digest);
  for (;;) {
    // k uniform in [1, n-1]: 64 extra random bits make the modulo bias negligible.
    const k = (bytesToBigInt(randomBytes(c.size + 8)) % (c.n - 1n)) + 1n;
    const x = affineX(c, mul(c, k, [c.gx, c.gy, 1n]));
    if (x === null) continue;
    const r = x % c.n;
    if (r === 0n) continue;
    const s = mod(inv(k, c.n) * (e + r * d), c.n);
    if (s === 0n) continue;
    return Buffer.concat([toFixed(r, c.size), toFixed(s, c.size)]);
  }
}

/** Verify an r | s signature over `digest` as is. */
export function ecdsaVerifyDigest(name: EcCurveName, publicKey: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  const c = curve(name);
  if (signature.length !== 2 * c.size) return false;
  const r = bytesToBigInt(signature.subarray(0, c.size));
  const s = bytesToBigInt(signature.subarray(c.size));
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const jwk = publicKey.export({ format: 'jwk' });
  const Q: Jac = [jwkInt(jwk.x), jwkInt(jwk.y), 1n];
  const w = inv(s, c.n);
  const e = digestToInt(c, digest);
  const X = add(c, mul(c, mod(e * w, c.n), [c.gx, c.gy, 1n]), mul(c, mod(r * w, c.n), Q));
  const x = affineX(c, X);
  return x !== null && x % c.n === r;
}
