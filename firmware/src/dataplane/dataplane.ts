/**
 * Dataplane: the typed face of the C ESP engine (sa-contract.ts is the contract).
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
import type { NativeEngine } from './native.ts';
import { addRoute, deleteRoute, installPolicyRouting, removePolicyRouting } from './routes.ts';
import { encodeSaSpec, encodeSelector, parseCounters, parseEngineNote, parseSaStatus } from './sa-contract.ts';
import type { Direction, EngineCounters, SaSpec, SaStatus } from './sa-contract.ts';
import type { EngineOptions, Endpoint, NoSaEvent, SaEvent, TrafficSelector } from './types.ts';
import { DataplaneError, checkEndpoint, checkSelector, validateEngineOptions, validateSaSpec } from './validate.ts';

export { DataplaneError } from './validate.ts';

export interface Dataplane {
  on(event: 'ike', listener: (msg: Buffer, from: Endpoint) => void): this;
  on(event: 'sa-event', listener: (ev: SaEvent) => void): this;
  on(event: 'no-sa', listener: (ev: NoSaEvent) => void): this;
  /** A notification from the engine broke the contract (sa-contract.ts); it was dropped. */
  on(event: 'contract-error', listener: (err: DataplaneError) => void): this;
  once(event: 'ike', listener: (msg: Buffer, from: Endpoint) => void): this;
  once(event: 'sa-event', listener: (ev: SaEvent) => void): this;
}

export class Dataplane extends EventEmitter {
  private engine: NativeEngine | undefined;
  private tun = '';
  private readonly routes = new Set<string>();
  private rules: Promise<void> | undefined;
  #contractErrors = 0;

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

  /** Runs on the JS thread for each worker notification; never throws into the addon. */
  private dispatch(kind: unknown, a: unknown, b: unknown): void {
    let note;
    try {
      note = parseEngineNote(kind, a, b);
    } catch (e) {
      this.#contractErrors++;
      if (this.listenerCount('contract-error') > 0) this.emit('contract-error', e);
      return;
    }
    if (note.kind === 'ike') this.emit('ike', note.msg, note.from);
    else if (note.kind === 'sa-event') this.emit('sa-event', note.event);
    else this.emit('no-sa', note.event);
  }

  /** Notifications dropped because they broke the contract (an addon/TypeScript mismatch). */
  get contractErrors(): number {
    return this.#contractErrors;
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

  addSa(spec: SaSpec): SaStatus {
    validateSaSpec(spec);
    return parseSaStatus(this.e.addSa(encodeSaSpec(spec)));
  }

  /** Point an SA at a new outer endpoint (e.g. NAT port change). */
  updateSa(spi: number, direction: Direction, change: { remote: Endpoint }): SaStatus {
    checkEndpoint(change.remote, 'remote', false);
    if (!this.e.updateRemote(spi, direction, change.remote)) throw new DataplaneError(`no ${direction} SA with SPI 0x${spi.toString(16)}`);
    const st = this.e.saStatus(spi, direction);
    if (st === null) throw new DataplaneError(`SA 0x${spi.toString(16)} vanished`);
    return parseSaStatus(st);
  }

  /** Removes the SA; the engine wipes its keys. false when it did not exist. */
  deleteSa(spi: number, direction: Direction): boolean {
    return this.e.deleteSa(spi, direction);
  }

  saStatus(spi: number, direction: Direction): SaStatus | null {
    const st = this.e.saStatus(spi, direction);
    return st === null ? null : parseSaStatus(st);
  }

  listSas(): SaStatus[] {
    const all = this.e.listSas();
    if (!Array.isArray(all)) throw new DataplaneError('engine listSas: not an array (addon and sa-contract.ts disagree)');
    return all.map(parseSaStatus);
  }

  counters(): EngineCounters {
    return parseCounters(this.e.counters());
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
    this.e.setBypass(selectors.map(encodeSelector));
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
