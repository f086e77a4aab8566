/**
 * IPv4/IPv6 address arithmetic for filters: parse, prefix containment, CIDR text.
 * Addresses are held as bigint so both families share one code path.
 */
import { ipBytes } from './ip-text.ts';

/** `remote = %any`: a peer with a dynamic address, accepted from anywhere, never initiated to. */
export const ANY_REMOTE = '%any';

export interface IpAddr {
  family: 4 | 6;
  value: bigint;
}

export function bitsOf(family: 4 | 6): number {
  return family === 4 ? 32 : 128;
}

export function parseIp(text: string): IpAddr | null {
  const bytes = ipBytes(text);
  if (bytes === null) return null;
  let v = 0n;
  // Four bytes at a time: a quarter of the bigint steps of one per byte.
  for (let i = 0; i < bytes.length; i += 4) {
    v = (v << 32n) | BigInt((((bytes[i]! << 24) >>> 0) + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!));
  }
  return { family: bytes.length === 4 ? 4 : 6, value: v };
}

export function formatIp(a: IpAddr): string {
  if (a.family === 4) {
    const parts: number[] = [];
    for (let i = 3; i >= 0; i--) parts.push(Number((a.value >> BigInt(i * 8)) & 0xffn));
    return parts.join('.');
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((a.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}

/** "addr:port", with an IPv6 address in brackets (RFC 3986 §3.2.2 style): "[2001:db8::1]:4500". */
export function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function maskOf(family: 4 | 6, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  const p = BigInt(prefix);
  return ((1n << bits) - 1n) ^ ((1n << (bits - p)) - 1n);
}

/** Does `addr` lie in network/prefix? */
export function inPrefix(addr: IpAddr, network: IpAddr, prefix: number): boolean {
  if (addr.family !== network.family) return false;
  const m = maskOf(addr.family, prefix);
  return (addr.value & m) === (network.value & m);
}

/** Parses "a.b.c.d/len" (or an IPv6 CIDR); returns null when malformed. */
export function parseCidr(text: string): { addr: IpAddr; prefix: number } | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const addr = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(lenText)) return null;
  const prefix = Number(lenText);
  if (prefix > bitsOf(addr.family)) return null;
  return { addr, prefix };
}

/** True when the host bits of a CIDR are zero (10.0.0.0/8, not 10.1.2.3/8). */
export function isNetworkAddress(addr: IpAddr, prefix: number): boolean {
  return (addr.value & ~maskOf(addr.family, prefix)) === 0n;
}
