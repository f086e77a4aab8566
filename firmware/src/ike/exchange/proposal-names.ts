// Proposals written the way sitelink.conf writes them, for failure records
// (`sitelinkctl explain`): main mode "aes256-sha256-modp2048", quick mode
// "aes128gcm16" or "aes128gcm16/modp2048" with PFS.

import {
  EncryptionAlgorithm,
  HashAlgorithm,
  parseIpsecAttributes,
  parsePhase1Attributes,
  type Phase1Attributes,
  type SaPayload,
} from '../wire/index.ts';
import { espAlgorithmOf } from './proposals.ts';
import type { AdditionalKe, EspMethod, IkeMethod, TunnelPolicy } from './types.ts';
import { kemById } from '../crypto/ml-kem.ts';

const GROUP_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'modp768'],
  [2, 'modp1024'],
  [5, 'modp1536'],
  [14, 'modp2048'],
  [15, 'modp3072'],
  [16, 'modp4096'],
  [19, 'ecp256'],
  [20, 'ecp384'],
  [21, 'ecp521'],
  [31, 'curve25519'],
]);

export function groupName(g: number | null | undefined): string | null {
  if (g === null || g === undefined) return null;
  return GROUP_NAMES.get(g) ?? `group${g}`;
}

export function ikeMethodName(m: IkeMethod): string {
  // AEAD suites name their PRF, as strongSwan writes them: "aes256gcm16-prfsha384-ecp384".
  const aead = m.encryption.includes('gcm') || m.encryption === 'chacha20poly1305';
  return `${m.encryption}-${aead ? 'prf' : ''}${m.integrity}-${groupName(m.dhGroup)}${addKeNames(m.addKe)}`;
}

/** RFC 9370 additional key exchange methods as strongSwan writes them: "mlkem768", "none", or a DH group. */
export function addKeMethodName(id: number): string {
  return id === 0 ? 'none' : (kemById(id)?.name ?? GROUP_NAMES.get(id) ?? `ke${id}`);
}

/** "-ke1_mlkem768-ke1_none" (strongSwan's proposal syntax), empty without additional key exchanges. */
export function addKeNames(addKe: readonly AdditionalKe[] | undefined): string {
  return (addKe ?? []).flatMap((k) => k.ids.map((id) => `-ke${k.slot}_${addKeMethodName(id)}`)).join('');
}

export function espMethodNames(methods: readonly EspMethod[], pfsGroup: number | null): string[] {
  const g = groupName(pfsGroup);
  return methods.map((m) => (g ? `${m.esp}/${g}` : m.esp));
}

export function tunnelMethodNames(t: TunnelPolicy): string[] {
  return espMethodNames(t.methods, t.pfsGroup);
}

const ENC: ReadonlyMap<number, string> = new Map([
  [EncryptionAlgorithm.DES_CBC, 'des'],
  [EncryptionAlgorithm.TRIPLE_DES_CBC, '3des'],
  [EncryptionAlgorithm.AES_CBC, 'aes'],
]);
const HASH: ReadonlyMap<number, string> = new Map([
  [HashAlgorithm.MD5, 'md5'],
  [HashAlgorithm.SHA1, 'sha1'],
  [HashAlgorithm.SHA2_256, 'sha256'],
  [HashAlgorithm.SHA2_384, 'sha384'],
  [HashAlgorithm.SHA2_512, 'sha512'],
]);

/** One phase 1 transform in config notation, e.g. "aes256-sha256-modp2048". */
export function phase1AttributesName(a: Phase1Attributes): string {
  const enc = ENC.get(a.encryption ?? -1) ?? `enc${a.encryption ?? '?'}`;
  const name = enc === 'aes' ? `aes${a.keyLength ?? ''}` : enc;
  return `${name}-${HASH.get(a.hash ?? -1) ?? `hash${a.hash ?? '?'}`}-${groupName(a.group) ?? 'none'}`;
}

/** The transforms a peer offered in a phase 1 SA payload. */
export function phase1OfferNames(sa: SaPayload): string[] {
  const out: string[] = [];
  for (const p of sa.proposals) {
    for (const t of p.transforms) {
      const a = parsePhase1Attributes(t.attributes);
      if (typeof a !== 'string') out.push(phase1AttributesName(a));
    }
  }
  return out;
}

/** The ESP transforms a peer offered in quick mode, and its PFS group. */
export function phase2OfferNames(sa: SaPayload): { names: string[]; pfs: string | null } {
  const names: string[] = [];
  let pfs: string | null = null;
  for (const p of sa.proposals) {
    for (const t of p.transforms) {
      const a = parseIpsecAttributes(t.attributes);
      if (typeof a === 'string') continue;
      const g = groupName(a.group);
      pfs ??= g;
      const esp = espAlgorithmOf(t.id, a) ?? `esp${t.id}`;
      names.push(g ? `${esp}/${g}` : esp);
    }
  }
  return { names, pfs };
}
