/**
 * Validation of what JS hands the engine: SA specs and engine options.
 * Errors name the field and the rule; they never include key bytes.
 */
import { ipBytes, ipFamily } from '../base/ip-text.ts';
import { DataplaneError } from './error.ts';
import { ESP_ALGORITHMS, KEY_LENGTHS, isAlgorithm } from './sa-contract.ts';
import type { CryptoBackend, Endpoint, SaSpec, TrafficSelector } from './sa-contract.ts';
import type { EngineOptions } from './types.ts';

export { DataplaneError } from './error.ts';
export { KEY_LENGTHS, isAlgorithm } from './sa-contract.ts';

export const MAX_REPLAY_WINDOW = 65536;
const BACKENDS: readonly CryptoBackend[] = ['auto', 'afalg', 'openssl'];

function fail(field: string, why: string): never {
  throw new DataplaneError(`${field}: ${why}`);
}

function isInt(n: unknown, lo: number, hi: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= lo && n <= hi;
}

export function checkEndpoint(ep: unknown, field: string, needPort: boolean): asserts ep is Endpoint {
  if (typeof ep !== 'object' || ep === null) fail(field, 'must be {address, port}');
  const e = ep as Partial<Endpoint>;
  if (typeof e.address !== 'string' || ipFamily(e.address) === 0) fail(`${field}.address`, 'must be an IPv4 or IPv6 address');
  if (!isInt(e.port, needPort ? 1 : 0, 65535)) fail(`${field}.port`, `must be an integer ${needPort ? 1 : 0}..65535`);
}

/** "a.b.c.d/n" or "x::/n" with the host bits zero. */
export function checkCidr(cidr: unknown, field: string): asserts cidr is string {
  if (typeof cidr !== 'string') fail(field, 'must be a CIDR string');
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const len = Number(m?.[2]);
  const bytes = m?.[1] === undefined ? null : ipBytes(m[1]);
  if (!m || bytes === null) fail(field, `"${cidr}" is not a CIDR prefix`);
  const bits = bytes.length * 8;
  if (len > bits) fail(field, `prefix length ${len} exceeds ${bits}`);
  for (let b = len; b < bits; b++) {
    if (((bytes[b >> 3] ?? 0) >> (7 - (b & 7))) & 1) fail(field, `"${cidr}" has host bits set`);
  }
}

function checkPorts(p: unknown, field: string): void {
  if (p === undefined) return;
  if (!Array.isArray(p) || p.length !== 2 || !isInt(p[0], 0, 65535) || !isInt(p[1], 0, 65535) || p[0] > p[1]) {
    fail(field, 'must be [low, high] with 0 <= low <= high <= 65535');
  }
}

export function checkSelector(s: TrafficSelector, field: string): void {
  checkCidr(s.local, `${field}.local`);
  checkCidr(s.remote, `${field}.remote`);
  if (ipFamily(s.local.split('/')[0] ?? '') !== ipFamily(s.remote.split('/')[0] ?? '')) {
    fail(field, 'local and remote must be the same address family');
  }
  if (s.protocol !== undefined && !isInt(s.protocol, 0, 255)) fail(`${field}.protocol`, 'must be 0..255');
  checkPorts(s.localPorts, `${field}.localPorts`);
  checkPorts(s.remotePorts, `${field}.remotePorts`);
}

function checkLimit(v: unknown, field: string): void {
  if (v !== undefined && (typeof v !== 'bigint' || v < 0n)) fail(field, 'must be a non-negative bigint');
}

/** Throws DataplaneError on the first problem. */
export function validateSaSpec(spec: SaSpec): void {
  if (!isInt(spec.spi, 256, 0xffffffff)) fail('spi', 'must be an integer 256..0xffffffff (0-255 are reserved, RFC 4303 §2.1)');
  if (spec.direction !== 'in' && spec.direction !== 'out') fail('direction', "must be 'in' or 'out'");
  if (!isAlgorithm(spec.algorithm)) fail('algorithm', `must be one of ${ESP_ALGORITHMS.join(', ')}`);
  const want = KEY_LENGTHS[spec.algorithm];
  if (!Buffer.isBuffer(spec.encKey)) fail('encKey', 'must be a Buffer');
  if (spec.encKey.length !== want.enc) {
    fail('encKey', `${spec.algorithm} needs ${want.enc} bytes${want.auth === 0 ? ' (key + 4-byte salt)' : ''}, got ${spec.encKey.length}`);
  }
  if (want.auth === 0) {
    if (spec.authKey !== undefined && spec.authKey.length > 0) fail('authKey', `${spec.algorithm} is an AEAD and takes no auth key`);
  } else {
    if (!Buffer.isBuffer(spec.authKey)) fail('authKey', `${spec.algorithm} needs a ${want.auth}-byte auth key`);
    if (spec.authKey.length !== want.auth) fail('authKey', `${spec.algorithm} needs ${want.auth} bytes, got ${spec.authKey.length}`);
  }
  if (spec.encap !== 'udp' && spec.encap !== 'none') fail('encap', "must be 'udp' or 'none'");
  checkEndpoint(spec.local, 'local', false);
  checkEndpoint(spec.remote, 'remote', spec.encap === 'udp');
  if (spec.esn !== undefined && typeof spec.esn !== 'boolean') fail('esn', 'must be a boolean');
  if (spec.replayWindow !== undefined && !isInt(spec.replayWindow, 0, MAX_REPLAY_WINDOW)) {
    fail('replayWindow', `must be an integer 0..${MAX_REPLAY_WINDOW}`);
  }
  if (spec.backend !== undefined && !BACKENDS.includes(spec.backend)) fail('backend', `must be one of ${BACKENDS.join(', ')}`);
  const l = spec.limits ?? {};
  checkLimit(l.softBytes, 'limits.softBytes');
  checkLimit(l.hardBytes, 'limits.hardBytes');
  checkLimit(l.softPackets, 'limits.softPackets');
  checkLimit(l.hardPackets, 'limits.hardPackets');
  if (l.softBytes !== undefined && l.hardBytes !== undefined && l.softBytes > l.hardBytes) fail('limits.softBytes', 'must not exceed hardBytes');
  if (l.softPackets !== undefined && l.hardPackets !== undefined && l.softPackets > l.hardPackets)
    fail('limits.softPackets', 'must not exceed hardPackets');
  if (spec.selectors !== undefined) {
    if (!Array.isArray(spec.selectors)) fail('selectors', 'must be an array');
    spec.selectors.forEach((s, i) => checkSelector(s, `selectors[${i}]`));
  }
  if (spec.direction === 'out' && (spec.selectors === undefined || spec.selectors.length === 0)) {
    fail('selectors', 'an outbound SA needs at least one traffic selector');
  }
  if (spec.reqid !== undefined && !isInt(spec.reqid, 0, 0xffffffff)) fail('reqid', 'must be a 32-bit unsigned integer');
}

export function validateEngineOptions(o: EngineOptions): void {
  if (typeof o.tun !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(o.tun)) fail('tun', 'must be 1..15 characters [A-Za-z0-9_.-]');
  if (o.listen !== undefined) checkEndpoint(o.listen, 'listen', false);
  if (o.workers !== undefined && !isInt(o.workers, 1, 16)) fail('workers', 'must be 1..16');
  if (o.mtu !== undefined && !isInt(o.mtu, 576, 9000)) fail('mtu', 'must be 576..9000');
  if (o.socketBuffer !== undefined && !isInt(o.socketBuffer, 65536, 1 << 30)) fail('socketBuffer', 'must be 64 KiB..1 GiB');
  if (o.rawEsp !== undefined && typeof o.rawEsp !== 'boolean') fail('rawEsp', 'must be a boolean');
}
