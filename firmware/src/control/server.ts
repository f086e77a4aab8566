/**
 * Control socket server, mounted by the daemon: a Unix stream socket (mode 0600 in a
 * 0700 directory: root-only, the file mode is the access control) speaking
 * line-delimited JSON (protocol.ts). The daemon registers one handler per command.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { redactor as defaultRedactor, type Redactor } from '../log/redact.ts';
import { bugStack, isBug } from '../log/bug.ts';
import { MAX_LINE, parseRequest, type Json, type Request, type Response } from './protocol.ts';

export type Handler = (args: { [k: string]: Json }) => unknown;

/**
 * What one client may hold in the daemon. The socket is root-only, but a stuck or
 * buggy script must not sink the daemon that runs IKE: replies queue only while the
 * client reads them (write() backpressure pauses reading that client), requests run
 * at most `maxPending` at a time per client, a client silent for `idleMs` with
 * nothing in flight is closed, and beyond `maxClients` the longest-idle client makes
 * room (a newcomer is refused only when every client has work in flight).
 */
export interface ControlLimits {
  maxClients: number;
  maxPending: number;
  idleMs: number;
}

export const CONTROL_LIMITS: ControlLimits = { maxClients: 32, maxPending: 8, idleMs: 60_000 };

export interface ControlServerOptions {
  path: string;
  redactor?: Redactor;
  limits?: Partial<ControlLimits>;
  /**
   * A handler failed with a TypeError or ReferenceError: a bug, not a refusal. The client
   * gets the message as for any error; this gets the error for its stack (default: the
   * redacted stack on stderr, the board's /var/log/sitelinkd.log). Issue 10: a bare
   * "Date is not a constructor" could never be traced.
   */
  onBug?: (command: string, e: Error) => void;
}

interface Client {
  sock: Socket;
  /** Received bytes not yet split into requests. */
  buf: string;
  /** Requests whose handler has not answered yet. */
  pending: number;
  /** The last write() returned false and 'drain' has not come. */
  congested: boolean;
  lastActive: number;
}

export class ControlServer {
  readonly path: string;
  readonly limits: ControlLimits;
  readonly #handlers = new Map<string, Handler>();
  readonly #redactor: Redactor;
  readonly #onBug: (command: string, e: Error) => void;
  readonly #clients = new Map<Socket, Client>();
  #server: Server | null = null;

  constructor(opts: ControlServerOptions) {
    this.path = opts.path;
    this.#redactor = opts.redactor ?? defaultRedactor;
    this.limits = { ...CONTROL_LIMITS, ...opts.limits };
    this.#onBug =
      opts.onBug ??
      ((command, e) => process.stderr.write(`control ${command}: ${bugStack(e, this.#redactor)}\n`));
  }

  /** Registers (or replaces) the handler for a command. */
  handle(command: string, handler: Handler): this {
    this.#handlers.set(command, handler);
    return this;
  }

  commands(): string[] {
    return [...this.#handlers.keys()];
  }

  /** Connected clients (for tests and health). */
  get clients(): number {
    return this.#clients.size;
  }

  async listen(): Promise<void> {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    await removeStaleSocket(this.path);
    const server = createServer((sock) => this.#accept(sock));
    this.#server = server;
    // Create the socket already restricted, then make the mode explicit.
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(this.path, 0o600);
  }

  async close(): Promise<void> {
    for (const s of this.#clients.keys()) s.destroy();
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  #accept(sock: Socket): void {
    sock.on('error', () => sock.destroy());
    if (this.#clients.size >= this.limits.maxClients) {
      const idle = [...this.#clients.values()].filter((c) => c.pending === 0).sort((a, b) => a.lastActive - b.lastActive)[0];
      if (idle === undefined) {
        sock.end(`${JSON.stringify({ id: 0, ok: false, error: `too many control clients (${this.limits.maxClients}), all busy; try again` })}\n`);
        return;
      }
      this.#bye(idle, `closed to make room for a new client (at most ${this.limits.maxClients})`);
    }
    const c: Client = { sock, buf: '', pending: 0, congested: false, lastActive: Date.now() };
    this.#clients.set(sock, c);
    sock.on('close', () => this.#clients.delete(sock));
    sock.setEncoding('utf8');
    sock.setTimeout(this.limits.idleMs);
    sock.on('timeout', () => {
      // Silent with work in flight is fine (a reload may take a while); silent while we
      // wait for it to read our replies, or with half a request, is not.
      if (c.pending > 0 && !c.congested) sock.setTimeout(this.limits.idleMs);
      else this.#bye(c, `idle for ${this.limits.idleMs} ms`);
    });
    sock.on('drain', () => {
      c.congested = false;
      this.#pump(c);
    });
    sock.on('data', (chunk: string) => {
      c.lastActive = Date.now();
      c.buf += chunk;
      this.#pump(c);
    });
  }

  /** Starts the complete requests in `c.buf` as far as the limits allow; reads on only when there is room. */
  #pump(c: Client): void {
    let nl: number;
    while (!c.congested && c.pending < this.limits.maxPending && (nl = c.buf.indexOf('\n')) >= 0) {
      if (nl > MAX_LINE) break;
      const line = c.buf.slice(0, nl);
      c.buf = c.buf.slice(nl + 1);
      void this.#dispatch(c, line);
    }
    const first = c.buf.indexOf('\n');
    if ((first < 0 ? c.buf.length : first) > MAX_LINE) {
      this.#bye(c, `request longer than ${MAX_LINE} bytes`);
      return;
    }
    if (c.congested || c.pending >= this.limits.maxPending || c.buf.length > 4 * MAX_LINE) c.sock.pause();
    else c.sock.resume();
  }

  #bye(c: Client, why: string): void {
    this.#write(c, { id: 0, ok: false, error: why });
    this.#clients.delete(c.sock);
    if (c.congested) {
      c.sock.destroy();
      return;
    }
    c.sock.end();
    // A client that does not read even that last line goes all the same.
    setTimeout(() => c.sock.destroy(), 2000).unref();
  }

  async #dispatch(c: Client, line: string): Promise<void> {
    c.pending++;
    try {
      this.#write(c, await this.#answer(line));
    } finally {
      c.pending--;
      c.lastActive = Date.now();
      if (!c.sock.destroyed) this.#pump(c);
    }
  }

  async #answer(line: string): Promise<Response> {
    let req: Request;
    try {
      if (line.trim() === '') throw new Error('empty request: expected one JSON object per line');
      req = parseRequest(line);
    } catch (e) {
      return { id: 0, ok: false, error: (e as Error).message };
    }
    const handler = this.#handlers.get(req.command);
    if (!handler) return { id: req.id, ok: false, error: `unknown command "${req.command}"; known: ${this.commands().join(', ')}` };
    try {
      const result = await handler(req.args);
      return { id: req.id, ok: true, result: result ?? null };
    } catch (e) {
      if (isBug(e)) this.#onBug(req.command, e);
      return { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }

  #write(c: Client, res: Response): void {
    if (c.sock.destroyed || !c.sock.writable) return;
    if (!c.sock.write(`${JSON.stringify(this.#redactor.redact(res))}\n`)) c.congested = true;
  }
}

/**
 * Removes a leftover socket from a previous run, but never a regular file, and never
 * the socket of a daemon that is still running (a second instance must not steal it).
 */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`${path} is in use: is another sitelinkd running?`);
  unlinkSync(path);
}
