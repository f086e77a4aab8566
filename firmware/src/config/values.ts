/**
 * Value grammars of sitelink.conf: booleans, durations, sizes, proposals, identities,
 * filter addresses and ports. Each parser returns the value or an "expected ..." text
 * that validate.ts turns into a file:line:field error.
 */
import { parseDnText } from '../ike/crypto/distinguished-name.ts';
import { kemById, kemByName } from '../ike/crypto/ml-kem.ts';
import type { EspAlgorithm } from '../dataplane/types.ts';
import type {
  AddressSpec, DhGroup, IkeAeadEncryption, IkeEncryption, IkeIntegrity, MainModeMethod, PeerIdentity, PortRange,
} from './types.ts';
import { PROTOCOLS } from '../base/protocols.ts';
import { isNetworkAddress, parseCidr, parseIp, formatIp } from '../base/address.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(expected: string): Parsed<T> => ({ ok: false, expected });

export function parseBool(s: string): Parsed<boolean> {
  if (/^(yes|true|on)$/i.test(s)) return ok(true);
  if (/^(no|false|off)$/i.test(s)) return ok(false);
  return bad(`yes or no, got "${s}"`);
}

/** "3600", "3600s", "60m", "8h", "1d" -> seconds. */
export function parseDuration(s: string): Parsed<number> {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(s);
  if (!m || m[1] === undefined) return bad(`a duration such as 30s, 60m, 8h or 1d, got "${s}"`);
  const n = Number(m[1]);
  const mult = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return ok(n * mult);
}

export function parseUint(s: string, min: number, max: number): Parsed<number> {
  if (!/^\d+$/.test(s)) return bad(`a whole number ${min}..${max}, got "${s}"`);
  const n = Number(s);
  if (n < min || n > max) return bad(`a whole number ${min}..${max}, got ${n}`);
  return ok(n);
}

/** Kilobytes: "100000", "100000kb", "100mb". */
export function parseKilobytes(s: string): Parsed<number> {
  const m = /^(\d+)\s*(kb|k|mb|m|gb|g)?$/i.exec(s);
  if (!m || m[1] === undefined) return bad(`a size in kilobytes such as 100000 or 100mb, got "${s}"`);
  const unit = (m[2] ?? 'kb').toLowerCase()[0];
  const mult = unit === 'm' ? 1024 : unit === 'g' ? 1024 * 1024 : 1;
  return ok(Number(m[1]) * mult);
}

export function oneOf<T extends string>(s: string, allowed: readonly T[]): Parsed<T> {
  const found = allowed.find((a) => a === s.toLowerCase());
  return found !== undefined ? ok(found) : bad(`one of ${allowed.join(', ')}, got "${s}"`);
}

// ---------------------------------------------------------------- algorithms

/** strongSwan-style DH names; group numbers from RFC 2409 §6, RFC 3526, RFC 5903, RFC 8031. */
const DH_NAMES: Record<string, DhGroup> = {
  modp768: 1, modp1024: 2, modp2048: 14, modp3072: 15, modp4096: 16,
  ecp256: 19, ecp384: 20, ecp521: 21, curve25519: 31, x25519: 31,
};
export const DH_NAME: Record<DhGroup, string> = {
  1: 'modp768', 2: 'modp1024', 14: 'modp2048', 15: 'modp3072', 16: 'modp4096',
  19: 'ecp256', 20: 'ecp384', 21: 'ecp521', 31: 'curve25519',
};
export const WEAK_DH: ReadonlySet<DhGroup> = new Set<DhGroup>([1]);

export function parseDhGroup(s: string): Parsed<DhGroup> {
  const lower = s.toLowerCase();
  const named = DH_NAMES[lower];
  if (named !== undefined) return ok(named);
  const m = /^(?:dh|group)?(\d+)$/.exec(lower);
  if (m && m[1] !== undefined) {
    const n = Number(m[1]);
    if (Object.prototype.hasOwnProperty.call(DH_NAME, n)) return ok(n as DhGroup);
  }
  return bad(`a DH group (modp1024, modp2048, modp3072, modp4096, ecp256, ecp384, ecp521, curve25519 or its number), got "${s}"`);
}

const ENCRYPTIONS: readonly IkeEncryption[] = ['aes128', 'aes256', '3des', 'des'];
/** AEAD IKE SA ciphers (IKEv2 only), by the names strongSwan's proposals use. */
const AEAD_ENCRYPTIONS: Record<string, IkeAeadEncryption> = {
  aes128gcm16: 'aes128gcm16', aes128gcm: 'aes128gcm16', aes256gcm16: 'aes256gcm16', aes256gcm: 'aes256gcm16',
  chacha20poly1305: 'chacha20poly1305',
};
const INTEGRITIES: Record<string, IkeIntegrity> = {
  sha1: 'sha1', sha: 'sha1', sha256: 'sha256', sha2_256: 'sha256', sha384: 'sha384', sha2_384: 'sha384',
  sha512: 'sha512', sha2_512: 'sha512', md5: 'md5',
};

const AEAD_SET: ReadonlySet<IkeEncryption> = new Set(Object.values(AEAD_ENCRYPTIONS));
export const isAeadEncryption = (e: IkeEncryption): e is IkeAeadEncryption => AEAD_SET.has(e);

/**
 * "aes256-sha256-modp2048" -> main mode / IKE SA method. An AEAD cipher
 * (IKEv2, RFC 5282) has no integrity transform, so its middle part names the
 * PRF: "aes256gcm16-prfsha384-ecp384" as in strongSwan ("sha384" also accepted).
 */
export function parseMainModeMethod(s: string): Parsed<MainModeMethod> {
  const all = s.toLowerCase().split('-');
  const expected = `encryption-integrity-dhgroup such as aes256-sha256-modp2048 or aes256gcm16-prfsha384-ecp384, got "${s}"`;
  if (all.length < 3) return bad(expected);
  const [enc = '', integ = '', dh = '', ...extra] = all;
  const addKe = parseAdditionalKe(extra, s);
  if (!addKe.ok) return addKe;
  const aead = AEAD_ENCRYPTIONS[enc];
  const encryption = aead ?? ENCRYPTIONS.find((e) => e === enc);
  const integrity = aead !== undefined ? INTEGRITIES[integ.replace(/^prf(?:hmac)?/, '')] : INTEGRITIES[integ];
  const group = parseDhGroup(dh);
  if (encryption === undefined) return bad(`encryption aes128, aes256, 3des, aes128gcm16, aes256gcm16 or chacha20poly1305 in "${s}"`);
  if (aead !== undefined && (integrity === undefined || integrity === 'md5')) {
    return bad(`a PRF prfsha1, prfsha256, prfsha384 or prfsha512 after the AEAD cipher in "${s}"`);
  }
  if (integrity === undefined) return bad(`integrity sha1, sha256, sha384 or sha512 in "${s}"`);
  if (!group.ok) return bad(`${group.expected} in "${s}"`);
  return ok({ encryption, integrity, dhGroup: group.value, ...(addKe.value.length > 0 ? { addKe: addKe.value } : {}) });
}

/**
 * A filter action's `pfs`: "none", a DH group, or (IKEv2) a group with additional key
 * exchanges as strongSwan writes them in esp_proposals: "x25519-ke1_mlkem768".
 */
export function parsePfs(s: string): Parsed<{ group: DhGroup; addKe: { slot: number; ids: number[] }[] } | null> {
  if (/^(no|none|off)$/i.test(s)) return ok(null);
  const [dh = '', ...extra] = s.toLowerCase().split('-');
  const group = parseDhGroup(dh);
  if (!group.ok) return group;
  const addKe = parseAdditionalKe(extra, s);
  return addKe.ok ? ok({ group: group.value, addKe: addKe.value }) : addKe;
}

/**
 * "-ke1_mlkem768[-ke1_none][-ke2_mlkem1024]" after the DH group: ADDKE<n>
 * (RFC 9370 §2.2.1, n = 1..7) with its alternatives in order of preference;
 * ke<n>_none makes that exchange optional. A DH group name is accepted too
 * (RFC 9370 allows any key exchange method as an additional one).
 */
function parseAdditionalKe(parts: readonly string[], s: string): Parsed<{ slot: number; ids: number[] }[]> {
  const slots = new Map<number, number[]>();
  for (const part of parts) {
    const m = /^ke([1-7])_([a-z0-9]+)$/.exec(part);
    if (!m) {
      const what = 'an additional key exchange such as ke1_mlkem768 (ke1..ke7 with mlkem512, mlkem768, mlkem1024 or none)';
      return bad(`${what} instead of "${part}" in "${s}"`);
    }
    const name = m[2]!;
    const dh = parseDhGroup(name);
    const id = name === 'none' ? 0 : (kemByName(name)?.id ?? (dh.ok ? dh.value : undefined));
    if (id === undefined) return bad(`mlkem512, mlkem768, mlkem1024, none or a DH group after ke${m[1]}_ instead of "${name}" in "${s}"`);
    const slot = Number(m[1]);
    const ids = slots.get(slot) ?? [];
    if (ids.includes(id)) return bad(`ke${slot}_${name} given twice in "${s}"`);
    ids.push(id);
    slots.set(slot, ids);
  }
  return ok([...slots.entries()].sort((a, b) => a[0] - b[0]).map(([slot, ids]) => ({ slot, ids })));
}

/** "-ke1_mlkem768-ke1_none" for a method's additional key exchanges. */
export function formatAdditionalKe(addKe: readonly { slot: number; ids: readonly number[] }[] | undefined): string {
  const name = (id: number): string => (id === 0 ? 'none' : (kemById(id)?.name ?? DH_NAME[id as DhGroup] ?? String(id)));
  return (addKe ?? []).flatMap((k) => k.ids.map((id) => `-ke${k.slot}_${name(id)}`)).join('');
}

/** Why a main mode method is weak, or null. */
export function weaknessOf(m: MainModeMethod): string | null {
  if (m.encryption === 'des') return 'uses DES';
  if (m.integrity === 'md5') return 'uses MD5';
  if (WEAK_DH.has(m.dhGroup) || (m.addKe ?? []).some((k) => k.ids.some((id) => WEAK_DH.has(id as DhGroup)))) return 'uses DH group 1 (modp768)';
  return null;
}

export function formatMainModeMethod(m: MainModeMethod): string {
  return `${m.encryption}-${isAeadEncryption(m.encryption) ? 'prf' : ''}${m.integrity}-${DH_NAME[m.dhGroup]}${formatAdditionalKe(m.addKe)}`;
}

export const ESP_ALGORITHMS: readonly EspAlgorithm[] = [
  'aes128gcm16', 'aes256gcm16', 'aes128-sha1', 'aes256-sha1', 'aes128-sha256', 'aes256-sha256',
  '3des-sha1', 'chacha20poly1305',
];
const ESP_ALIASES: Record<string, EspAlgorithm> = {
  aes128gcm: 'aes128gcm16', aes256gcm: 'aes256gcm16', 'aes128-sha2_256': 'aes128-sha256',
  'aes256-sha2_256': 'aes256-sha256',
};

export function parseEspAlgorithm(s: string): Parsed<EspAlgorithm> {
  const lower = s.toLowerCase();
  if (/(^|-)md5$/.test(lower) || /^des-/.test(lower)) {
    return bad(`an ESP algorithm; "${s}" is weak and not implemented by the ESP engine`);
  }
  const found = ESP_ALGORITHMS.find((a) => a === lower) ?? ESP_ALIASES[lower];
  return found !== undefined ? ok(found) : bad(`an ESP algorithm (${ESP_ALGORITHMS.join(', ')}), got "${s}"`);
}

// ---------------------------------------------------------------- identities and addresses

/** IKE identity: an IP literal, user@fqdn or an FQDN (RFC 2407 §4.6.2.1). */
export function parseIdentity(s: string): Parsed<PeerIdentity> {
  if (/^dn:/i.test(s)) {
    const dn = parseDnText(s.slice(3));
    if (typeof dn === 'string') return bad(`a distinguished name after dn: (e.g. dn:O=example, CN=gw.example), ${dn}`);
    return ok({ kind: 'dn', value: s.slice(3).trim() });
  }
  const ip = parseIp(s);
  if (ip) return ok({ kind: ip.family === 4 ? 'ipv4' : 'ipv6', value: s });
  if (/^[^@\s]+@[A-Za-z0-9.-]+$/.test(s)) return ok({ kind: 'user-fqdn', value: s });
  if (/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(s)) {
    return ok({ kind: 'fqdn', value: s });
  }
  return bad(`an identity (IP address, fqdn, user@fqdn or dn:...), got "${s}"`);
}

/** Gateway address: IP literal or DNS name. */
export function parseHostOrName(s: string): Parsed<string> {
  if (parseIp(s)) return ok(s);
  if (/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(s) && /[A-Za-z]/.test(s)) return ok(s);
  return bad(`an IP address or DNS name, got "${s}"`);
}

/** Filter address: any, me, a host address or a subnet in CIDR notation. */
export function parseAddressSpec(s: string): Parsed<AddressSpec> {
  const lower = s.toLowerCase();
  if (lower === 'any') return ok({ kind: 'any' });
  if (lower === 'me') return ok({ kind: 'me' });
  const ip = parseIp(s);
  if (ip) return ok({ kind: 'host', address: formatIp(ip), family: ip.family });
  const cidr = parseCidr(s);
  if (cidr) {
    if (!isNetworkAddress(cidr.addr, cidr.prefix)) {
      return bad(`a subnet with zero host bits, got "${s}" (did you mean the host ${formatIp(cidr.addr)}?)`);
    }
    const full = cidr.addr.family === 4 ? 32 : 128;
    if (cidr.prefix === full) return ok({ kind: 'host', address: formatIp(cidr.addr), family: cidr.addr.family });
    if (cidr.prefix === 0) return ok({ kind: 'any' });
    return ok({ kind: 'subnet', address: formatIp(cidr.addr), prefix: cidr.prefix, family: cidr.addr.family });
  }
  return bad(`any, me, an IP address or a subnet such as 10.1.0.0/24, got "${s}"`);
}

export function parseProtocol(s: string): Parsed<number> {
  const named = PROTOCOLS[s.toLowerCase()];
  if (named !== undefined) return ok(named);
  if (/^\d+$/.test(s) && Number(s) <= 255) return ok(Number(s));
  return bad(`a protocol (any, tcp, udp, icmp, icmpv6, gre or a number 0..255), got "${s}"`);
}


/** Ports: "25", "1024-65535" (one item of a comma list). */
export function parsePortRange(s: string): Parsed<PortRange> {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m || m[1] === undefined) return bad(`a port or port range such as 25 or 1024-65535, got "${s}"`);
  const lo = Number(m[1]);
  const hi = m[2] !== undefined ? Number(m[2]) : lo;
  if (lo > 65535 || hi > 65535 || lo > hi) return bad(`ports 0..65535 with low <= high, got "${s}"`);
  return ok([lo, hi]);
}
