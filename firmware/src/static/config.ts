/**
 * The manual-keying config (JSON) of sitelink-static, parsed and checked.
 * Every error names the field path and the rule; key material never
 * appears in an error.
 */
import { ipFamily } from '../base/ip-text.ts';
import { ESP_ALGORITHMS, KEY_LENGTHS, isAlgorithm } from '../dataplane/sa-contract.ts';
import type { CryptoBackend, Encap, Endpoint, EspAlgorithm, SaSpec } from '../dataplane/sa-contract.ts';
import { MAX_REPLAY_WINDOW, checkCidr } from '../dataplane/validate.ts';

/** One direction's manual keys: the SA-install record's fields (dataplane/sa-contract.ts). */
export type StaticSaKeys = Pick<SaSpec, 'spi' | 'encKey' | 'authKey'>;

export interface StaticTunnel {
  name: string;
  local: Endpoint;
  remote: Endpoint;
  localSubnets: string[];
  remoteSubnets: string[];
  encap: Encap;
  algorithm: EspAlgorithm;
  esn: boolean;
  replayWindow: number;
  /** NAT keepalive interval in seconds for encap udp (RFC 3948 §2.3), 0 = off. */
  keepalive: number;
  out: StaticSaKeys;
  in: StaticSaKeys;
}

export interface StaticConfig {
  tun: string;
  listen: Endpoint;
  backend: CryptoBackend;
  workers: number | undefined;
  rawEsp: boolean;
  mtu: number | undefined;
  tunnels: StaticTunnel[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`);
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(path, 'must be an object');
  return v as Obj;
}

function noExtra(o: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new ConfigError(`${path}.${k}`, 'unknown field');
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(path, 'must be a non-empty string');
  return v;
}

function int(v: unknown, path: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new ConfigError(path, `must be an integer ${lo}..${hi}`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(path, 'must be true or false');
  return v;
}

function endpoint(v: unknown, path: string): Endpoint {
  const o = obj(v, path);
  noExtra(o, ['address', 'port'], path);
  const address = str(o['address'], `${path}.address`);
  if (ipFamily(address) === 0) throw new ConfigError(`${path}.address`, 'must be an IPv4 or IPv6 address');
  return { address, port: int(o['port'], `${path}.port`, 1, 65535) };
}

function subnets(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || v.length === 0) throw new ConfigError(path, 'must be a non-empty array of CIDR prefixes');
  return v.map((s, i) => {
    try {
      checkCidr(s, `${path}[${i}]`);
    } catch (e) {
      throw new ConfigError(`${path}[${i}]`, (e as Error).message.replace(/^[^:]*: /, ''));
    }
    return s as string;
  });
}

function hexKey(v: unknown, path: string, len: number): Buffer {
  if (typeof v !== 'string' || !/^(0x)?[0-9a-fA-F]*$/.test(v)) throw new ConfigError(path, 'must be a hex string');
  const hex = v.startsWith('0x') ? v.slice(2) : v;
  if (hex.length !== len * 2) throw new ConfigError(path, `must be ${len} bytes (${len * 2} hex digits), got ${hex.length / 2}`);
  return Buffer.from(hex, 'hex');
}

function spi(v: unknown, path: string): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/.test(v)) n = Number(v);
  else throw new ConfigError(path, 'must be a number or a "0x..." hex string');
  // RFC 4303 §2.1: 0 is reserved, 1..255 reserved for IANA.
  return int(n, path, 256, 0xffffffff);
}

function saKeys(v: unknown, path: string, alg: EspAlgorithm): StaticSaKeys {
  const o = obj(v, path);
  noExtra(o, ['spi', 'encKey', 'authKey'], path);
  const want = KEY_LENGTHS[alg];
  const keys: StaticSaKeys = { spi: spi(o['spi'], `${path}.spi`), encKey: hexKey(o['encKey'], `${path}.encKey`, want.enc) };
  if (want.auth > 0) keys.authKey = hexKey(o['authKey'], `${path}.authKey`, want.auth);
  else if (o['authKey'] !== undefined && o['authKey'] !== '') throw new ConfigError(`${path}.authKey`, `${alg} is an AEAD and takes no auth key`);
  return keys;
}

function tunnel(v: unknown, path: string): StaticTunnel {
  const o = obj(v, path);
  noExtra(
    o,
    ['name', 'local', 'remote', 'localSubnets', 'remoteSubnets', 'encap', 'algorithm', 'esn', 'replayWindow', 'keepalive', 'out', 'in'],
    path,
  );
  const alg = o['algorithm'];
  if (!isAlgorithm(alg)) throw new ConfigError(`${path}.algorithm`, `must be one of ${ESP_ALGORITHMS.join(', ')}`);
  const encap = o['encap'] ?? 'udp';
  if (encap !== 'udp' && encap !== 'none') throw new ConfigError(`${path}.encap`, "must be 'udp' or 'none'");
  const t: StaticTunnel = {
    name: str(o['name'], `${path}.name`),
    local: endpoint(o['local'], `${path}.local`),
    remote: endpoint(o['remote'], `${path}.remote`),
    localSubnets: subnets(o['localSubnets'], `${path}.localSubnets`),
    remoteSubnets: subnets(o['remoteSubnets'], `${path}.remoteSubnets`),
    encap,
    algorithm: alg,
    esn: o['esn'] === undefined ? false : bool(o['esn'], `${path}.esn`),
    replayWindow: o['replayWindow'] === undefined ? 1024 : int(o['replayWindow'], `${path}.replayWindow`, 0, MAX_REPLAY_WINDOW),
    keepalive: o['keepalive'] === undefined ? (encap === 'udp' ? 20 : 0) : int(o['keepalive'], `${path}.keepalive`, 0, 3600),
    out: saKeys(o['out'], `${path}.out`, alg),
    in: saKeys(o['in'], `${path}.in`, alg),
  };
  const fam = (c: string): number => ipFamily(c.split('/')[0] ?? '');
  const pairs = t.localSubnets.flatMap((l) => t.remoteSubnets.filter((r) => fam(r) === fam(l)));
  if (pairs.length === 0) throw new ConfigError(`${path}.remoteSubnets`, 'no remote subnet has the address family of a local subnet');
  return t;
}

/** Parses the JSON text; throws ConfigError (or SyntaxError for bad JSON). */
export function parseStaticConfig(text: string): StaticConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('(file)', `not valid JSON: ${(e as Error).message}`);
  }
  const o = obj(raw, '(root)');
  noExtra(o, ['tun', 'listen', 'backend', 'workers', 'rawEsp', 'mtu', 'tunnels'], '(root)');
  const tun = str(o['tun'], 'tun');
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(tun)) throw new ConfigError('tun', 'must be 1..15 characters [A-Za-z0-9_.-]');
  const backend = o['backend'] ?? 'auto';
  if (backend !== 'auto' && backend !== 'afalg' && backend !== 'openssl') throw new ConfigError('backend', "must be 'auto', 'afalg' or 'openssl'");
  if (!Array.isArray(o['tunnels']) || o['tunnels'].length === 0) throw new ConfigError('tunnels', 'must be a non-empty array');
  const cfg: StaticConfig = {
    tun,
    listen: o['listen'] === undefined ? { address: '0.0.0.0', port: 4500 } : endpoint(o['listen'], 'listen'),
    backend,
    workers: o['workers'] === undefined ? undefined : int(o['workers'], 'workers', 1, 16),
    rawEsp: o['rawEsp'] === undefined ? false : bool(o['rawEsp'], 'rawEsp'),
    mtu: o['mtu'] === undefined ? undefined : int(o['mtu'], 'mtu', 576, 9000),
    tunnels: o['tunnels'].map((tn, i) => tunnel(tn, `tunnels[${i}]`)),
  };
  const seen = { names: new Set<string>(), in: new Set<number>(), out: new Set<number>() };
  cfg.tunnels.forEach((tn, i) => {
    if (seen.names.has(tn.name)) throw new ConfigError(`tunnels[${i}].name`, `duplicate name "${tn.name}"`);
    seen.names.add(tn.name);
    if (seen.in.has(tn.in.spi)) throw new ConfigError(`tunnels[${i}].in.spi`, 'duplicate inbound SPI');
    if (seen.out.has(tn.out.spi)) throw new ConfigError(`tunnels[${i}].out.spi`, 'duplicate outbound SPI');
    seen.in.add(tn.in.spi);
    seen.out.add(tn.out.spi);
    if (tn.encap === 'none' && !cfg.rawEsp) throw new ConfigError(`tunnels[${i}].encap`, "'none' (raw ESP) needs \"rawEsp\": true");
  });
  return cfg;
}

/** Overwrite every key buffer once the engine holds its own copy. */
export function wipeKeys(cfg: StaticConfig): void {
  for (const tn of cfg.tunnels) {
    for (const sa of [tn.in, tn.out]) {
      sa.encKey.fill(0);
      sa.authKey?.fill(0);
    }
  }
}
