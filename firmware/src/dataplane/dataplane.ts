/**
 * Dataplane: the typed face of the C ESP engine (types.ts is the contract).
 *
 * Packets never enter JavaScript. This class opens the engine (TUN, the
 * shared UDP 4500 socket, workers), installs and removes SAs, sends IKE on
 * the engine's socket (RFC 3948 non-ESP marker added by the engine), and
 * re-emits worker notifications as events:
 *   'ike'      (msg: Buffer, from: Endpoint)
 *   'sa-event' (ev: SaEvent)
 *   'no-sa' (ev: NoSaEvent): an outbound packet without an SA (rate-limited by the engine)
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import { loadNative } from './native.ts';
import type { NativeEngine, NativeSaSpec, NativeSaStatus } from './native.ts';
import { addRoute, deleteRoute, installPolicyRouting, removePolicyRouting } from './routes.ts';
import type { EngineOptions, Endpoint, EspAlgorithm, GlobalCounters, NoSaEvent, SaEvent, SaSpec, SaStatus, TrafficSelector } from './types.ts';
import { DataplaneError, checkEndpoint, checkSelector, isAlgorithm, validateEngineOptions, validateSaSpec } from './validate.ts';

export { DataplaneError } from './validate.ts';

type Direction = 'in' | 'out';

export interface Dataplane {
  on(event: 'ike', listener: (msg: Buffer, from: Endpoint) => void): this;
  on(event: 'sa-event', listener: (ev: SaEvent) => void): this;
  on(event: 'no-sa', listener: (ev: NoSaEvent) => void): this;
  once(event: 'ike', listener: (msg: Buffer, from: Endpoint) => void): this;
  once(event: 'sa-event', listener: (ev: SaEvent) => void): this;
}

/** SaStatus plus what the engine knows beyond the contract. */
export interface SaStatusDetail extends SaStatus {
  esn: boolean;
  /** Hard limit reached or sequence numbers exhausted: the SA carries no more traffic. */
  dead: boolean;
  /** The engine already wiped a dead SA's keys (it stays listed until deleted). */
  keysWiped: boolean;
  reqid: number;
}

function toStatus(s: NativeSaStatus): SaStatusDetail {
  const algorithm: EspAlgorithm = isAlgorithm(s.algorithm) ? s.algorithm : 'aes128gcm16';
  return {
    spi: s.spi,
    direction: s.direction,
    algorithm,
    backend: s.backend === 'afalg' ? 'afalg' : 'openssl',
    driver: s.driver,
    ...(s.probe ? { probe: { ...s.probe } } : {}),
    seq: s.seq,
    local: { address: s.local.address, port: s.local.port },
    remote: { address: s.remote.address, port: s.remote.port },
    encap: s.encap,
    packets: s.packets,
    bytes: s.bytes,
    dropsReplay: s.dropsReplay,
    dropsIcv: s.dropsIcv,
    dropsMalformed: s.dropsMalformed,
    dropsPadding: s.dropsPadding,
    esn: s.esn,
    dead: s.dead,
    keysWiped: s.keysWiped ?? false,
    reqid: s.reqid,
  };
}

function isEndpoint(v: unknown): v is Endpoint {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['address'] === 'string' && typeof o['port'] === 'number';
}

function isNoSaEvent(v: unknown): v is NoSaEvent & { type: 'no-sa' } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o['type'] === 'no-sa' && isEndpoint(o['src']) && isEndpoint(o['dst']) && typeof o['protocol'] === 'number';
}

function isSaEvent(v: unknown): v is SaEvent {
  if (typeof v !== 'object' || v === null) return false;
  const t = (v as Record<string, unknown>)['type'];
  return t === 'soft' || t === 'hard' || t === 'seq-overflow' || t === 'peer-moved';
}

export class Dataplane extends EventEmitter {
  private engine: NativeEngine | undefined;
  private tun = '';
  private readonly routes = new Set<string>();
  private rules: Promise<void> | undefined;

  /** Creates the TUN device and sockets and starts the workers. */
  open(opts: EngineOptions): void {
    if (this.engine) throw new DataplaneError('already open');
    validateEngineOptions(opts);
    const native = loadNative();
    const listen = opts.listen ?? { address: '0.0.0.0', port: 4500 };
    this.engine = new native.Engine(
      {
        tun: opts.tun,
        listenAddress: listen.address,
        listenPort: listen.port,
        rawEsp: opts.rawEsp ?? false,
        workers: opts.workers ?? Math.min(16, Math.max(1, availableParallelism())),
        mtu: opts.mtu ?? 1400,
        socketBuffer: opts.socketBuffer ?? 8 * 1024 * 1024,
      },
      (kind, a, b) => this.dispatch(kind, a, b),
    );
    this.tun = opts.tun;
  }

  private dispatch(kind: string, a: unknown, b: unknown): void {
    if (kind === 'ike' && Buffer.isBuffer(a) && isEndpoint(b)) this.emit('ike', a, b);
    else if (kind === 'sa-event' && isSaEvent(a)) this.emit('sa-event', a);
    else if (kind === 'sa-event' && isNoSaEvent(a)) this.emit('no-sa', { src: a.src, dst: a.dst, protocol: a.protocol });
  }

  private get e(): NativeEngine {
    if (!this.engine) throw new DataplaneError('dataplane is not open');
    return this.engine;
  }

  get isOpen(): boolean {
    return this.engine !== undefined;
  }

  /** Worker threads actually running. */
  get workers(): number {
    return this.e.workers();
  }

  addSa(spec: SaSpec): SaStatusDetail {
    validateSaSpec(spec);
    const l = spec.limits ?? {};
    const n: NativeSaSpec = {
      spi: spec.spi,
      direction: spec.direction,
      algorithm: spec.algorithm,
      encKey: spec.encKey,
      localAddress: spec.local.address,
      localPort: spec.local.port,
      remoteAddress: spec.remote.address,
      remotePort: spec.remote.port,
      encap: spec.encap,
      esn: spec.esn ?? false,
      replayWindow: spec.replayWindow ?? 1024,
      backend: spec.backend ?? 'auto',
      softBytes: l.softBytes ?? 0n,
      hardBytes: l.hardBytes ?? 0n,
      softPackets: l.softPackets ?? 0n,
      hardPackets: l.hardPackets ?? 0n,
      selectors: (spec.selectors ?? []).map((s) => ({
        local: s.local,
        remote: s.remote,
        protocol: s.protocol ?? 0,
        localPorts: s.localPorts ?? [0, 65535],
        remotePorts: s.remotePorts ?? [0, 65535],
      })),
      reqid: spec.reqid ?? 0,
    };
    if (spec.authKey !== undefined && spec.authKey.length > 0) n.authKey = spec.authKey;
    return toStatus(this.e.addSa(n));
  }

  /** Point an SA at a new outer endpoint (e.g. NAT port change). */
  updateSa(spi: number, direction: Direction, change: { remote: Endpoint }): SaStatusDetail {
    checkEndpoint(change.remote, 'remote', false);
    if (!this.e.updateRemote(spi, direction, change.remote)) throw new DataplaneError(`no ${direction} SA with SPI 0x${spi.toString(16)}`);
    const st = this.e.saStatus(spi, direction);
    if (!st) throw new DataplaneError(`SA 0x${spi.toString(16)} vanished`);
    return toStatus(st);
  }

  /** Removes the SA; the engine wipes its keys. false when it did not exist. */
  deleteSa(spi: number, direction: Direction): boolean {
    return this.e.deleteSa(spi, direction);
  }

  saStatus(spi: number, direction: Direction): SaStatusDetail | null {
    const st = this.e.saStatus(spi, direction);
    return st ? toStatus(st) : null;
  }

  listSas(): SaStatusDetail[] {
    return this.e.listSas().map(toStatus);
  }

  counters(): GlobalCounters & {
    rxBytes: bigint;
    txBytes: bigint;
    dropsDead: bigint;
    dropsTxError: bigint;
    eventsDropped: bigint;
    ikeDropped: bigint;
  } {
    const c = this.e.counters();
    return { ...c, eventsDropped: c.eventsDropped ?? 0n, ikeDropped: c.ikeDropped ?? 0n };
  }

  /** Sends an IKE message from UDP 4500; the engine prepends the non-ESP marker (RFC 3948 §2.2). */
  sendIke(msg: Buffer, remote: Endpoint): void {
    checkEndpoint(remote, 'remote', true);
    if (msg.length === 0) throw new DataplaneError('sendIke: empty message');
    this.e.sendIke(msg, remote);
  }

  /** NAT keepalives (RFC 3948 §2.3) to remote every `seconds`; 0 stops them. */
  setKeepalive(remote: Endpoint, seconds: number): void {
    checkEndpoint(remote, 'remote', true);
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86400) throw new DataplaneError('setKeepalive: seconds must be 0..86400');
    this.e.setKeepalive(remote, seconds);
  }

  /**
   * Selectors of permit/block filters: an outbound packet whose SA selector one of
   * them matches with at least the same filter weight (policy/weight.ts) is not
   * encrypted. Routing already keeps such traffic out of the TUN (routes.ts); this is
   * the engine's own guard. Replaces the previous set.
   */
  setBypass(selectors: TrafficSelector[]): void {
    selectors.forEach((s, i) => checkSelector(s, `bypass[${i}]`));
    this.e.setBypass(
      selectors.map((s) => ({
        local: s.local,
        remote: s.remote,
        protocol: s.protocol ?? 0,
        localPorts: s.localPorts ?? [0, 65535],
        remotePorts: s.remotePorts ?? [0, 65535],
      })),
    );
  }

  /** The policy-routing rules (routes.ts) that send marked traffic into the TUN or
   * past it, and remote subnets (addRoute) to it; installed once per open. */
  policyRouting(): Promise<void> {
    if (!this.engine) return Promise.reject(new DataplaneError('dataplane is not open'));
    this.rules ??= installPolicyRouting(this.tun).catch((e: unknown) => {
      this.rules = undefined;
      throw e;
    });
    return this.rules;
  }

  async addRoute(cidr: string): Promise<void> {
    if (!this.engine) throw new DataplaneError('dataplane is not open');
    await this.policyRouting();
    await addRoute(cidr, this.tun);
    this.routes.add(cidr);
  }

  async deleteRoute(cidr: string): Promise<void> {
    if (!this.engine) throw new DataplaneError('dataplane is not open');
    await deleteRoute(cidr, this.tun);
    this.routes.delete(cidr);
  }

  /** Stops the workers, removes the TUN (and with it its routes), wipes every SA. */
  close(): void {
    const e = this.engine;
    this.engine = undefined;
    this.routes.clear();
    e?.close();
    if (this.rules) {
      this.rules = undefined;
      // The TUN took its routes with it; the rules would only point at empty tables.
      removePolicyRouting().catch(() => undefined);
    }
  }
}
