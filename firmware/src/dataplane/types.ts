/**
 * The contract between the IKE daemon and the C ESP engine (native/).
 * Packets never cross into JavaScript: JS installs SAs, sends/receives IKE on the
 * engine's UDP 4500 socket, and reads events and counters. The SA, counters and
 * event records are defined once in sa-contract.ts; this file adds the engine's
 * options.
 */
import type { Endpoint } from './sa-contract.ts';

export type {
  BackendProbe,
  CryptoBackend,
  Direction,
  Encap,
  Endpoint,
  EngineCounters,
  EspAlgorithm,
  NoSaEvent,
  SaCounters,
  SaEvent,
  SaKeyed,
  SaLimits,
  SaSpec,
  SaStatus,
  TrafficSelector,
} from './sa-contract.ts';

export interface EngineOptions {
  /** TUN interface the engine creates and owns (e.g. "sl0"). */
  tun: string;
  /** Local address/port of the shared IKE/ESP-in-UDP socket (RFC 3948), default 0.0.0.0:4500. */
  listen?: Endpoint;
  /** Also open a raw IP proto 50 socket for non-encapsulated ESP. */
  rawEsp?: boolean;
  /** Worker threads moving packets (default: one per core). */
  workers?: number;
  /** TUN MTU (default 1400). */
  mtu?: number;
  /** Socket buffer size in bytes for the UDP socket (default 8 MiB). */
  socketBuffer?: number;
}
