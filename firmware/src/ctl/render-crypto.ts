// sitelinkctl sas: which crypto backend carries each SA and why. With crypto-backend = auto
// the start-up probe chose it (native/src/crypto/probe.c): each backend timed on the path the
// data plane takes, per packet at 64 and 1400 bytes, with the syscalls it made per packet;
// the live data plane's AF_ALG syscalls per packet follow. Timings from a QEMU guest (TCG)
// are the emulator's, not the hardware's.
import type { QuickModeSaInfo, SasResult } from '../control/protocol.ts';
import type { BackendProbe } from '../dataplane/sa-contract.ts';
import { table } from './table.ts';

/** The CRYPTO cell: the outbound SA's backend (and driver), the inbound one's when it differs. */
export function cryptoCell(q: QuickModeSaInfo): string {
  const out = `${q.backend}${q.driver ? ` (${q.driver})` : ''}`;
  const both = q.backendIn === undefined || q.backendIn === q.backend ? out : `out ${out}, in ${q.backendIn}`;
  if (!q.probe && !q.probeIn) return both;
  // auto chose AF_ALG but the engine refused it (descriptor budget): the SA runs on OpenSSL.
  const fellBack = [q.probe && q.backend !== 'unknown' && q.probe.choice !== q.backend, q.probeIn && q.backendIn !== undefined &&
    q.backendIn !== 'unknown' && q.probeIn.choice !== q.backendIn].some(Boolean);
  return `${both}, auto${fellBack ? ' (af_alg refused: fell back)' : ''}`;
}

function us(ns: number): string {
  return (ns / 1000).toFixed(ns < 10_000 ? 2 : 1);
}

function perPacket(sys: number): string {
  return `${sys.toFixed(2)} syscalls/pkt`;
}

function afalgCell(p: BackendProbe): string {
  if (p.afalgMtuNs === 0) return 'unavailable';
  return `${us(p.afalgSmallNs)} / ${us(p.afalgMtuNs)} us, ${p.afalgBatched ? 'batched' : 'one by one'}, ${perPacket(p.afalgSyscallsPerPacket)}`;
}

function opensslCell(p: BackendProbe): string {
  if (p.opensslMtuNs === 0) return 'unavailable';
  const sys = p.opensslSyscallsPerPacket > 0 ? `, ${perPacket(p.opensslSyscallsPerPacket)}` : '';
  return `${us(p.opensslSmallNs)} / ${us(p.opensslMtuNs)} us${sys}`;
}

/** One row per transform and operation (the probe runs once per transform), null when no SA was
 * chosen by probe. */
export function renderProbes(quickMode: readonly QuickModeSaInfo[]): string | null {
  const rows = new Map<string, string[]>();
  for (const q of quickMode) {
    for (const p of [q.probe, q.probeIn]) {
      if (!p) continue;
      const key = `${q.algorithm} ${p.op}`;
      if (!rows.has(key)) rows.set(key, [key, p.choice, afalgCell(p), opensslCell(p), p.reason]);
    }
  }
  if (rows.size === 0) return null;
  const head = ['TRANSFORM', 'CHOSE', 'AF_ALG', 'OPENSSL', 'WHY'];
  return `crypto-backend = auto: start-up probe per packet at 64 / 1400 B\n${table(head, [...rows.values()])}`;
}

/** The live data plane's AF_ALG syscalls per packet; null when no SA uses or weighed AF_ALG. */
export function renderAfalgLive(s: SasResult): string | null {
  const a = s.afalg;
  if (!a) return null;
  const packets = BigInt(a.packets);
  const relevant = packets > 0n || s.quickMode.some((q) => q.backend === 'afalg' || q.backendIn === 'afalg' || (q.probe?.afalgMtuNs ?? 0) > 0);
  if (!relevant) return null;
  if (packets === 0n) return 'AF_ALG data plane: no packets yet';
  // Two decimals of a ratio of two 64-bit counts, without losing precision to Number first.
  const hundredths = (BigInt(a.syscalls) * 100n + packets / 2n) / packets;
  return `AF_ALG data plane: ${hundredths / 100n}.${String(hundredths % 100n).padStart(2, '0')} syscalls/packet over ${a.packets} packets`;
}
