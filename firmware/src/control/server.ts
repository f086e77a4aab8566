/**
 * Control socket server, mounted by the daemon: a Unix stream socket (mode 0600 in a
 * 0700 directory: root-only, the file mode is the access control) speaking
 * line-delimited JSON (protocol.ts). The daemon registers one handler per command.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { redactor as defaultRedactor, type Redactor } from '../log/redact.ts';
import { MAX_LINE, type Json, type Request, type Response } from './protocol.ts';

export type Handler = (args: { [k: string]: Json }) => unknown;

export interface ControlServerOptions {
  path: string;
  redactor?: Redactor;
}

export class ControlServer {
  readonly path: string;
  readonly #handlers = new Map<string, Handler>();
  readonly #redactor: Redactor;
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;

  constructor(opts: ControlServerOptions) {
    this.path = opts.path;
    this.#redactor = opts.redactor ?? defaultRedactor;
  }

  /** Registers (or replaces) the handler for a command. */
  handle(command: string, handler: Handler): this {
    this.#handlers.set(command, handler);
    return this;
  }

  commands(): string[] {
    return [...this.#handlers.keys()];
  }

  async listen(): Promise<void> {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    await removeStaleSocket(this.path);
    const server = createServer((sock) => this.#serve(sock));
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
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  #serve(sock: Socket): void {
    this.#sockets.add(sock);
    sock.on('close', () => this.#sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE && !buf.includes('\n')) {
        this.#write(sock, { id: 0, ok: false, error: `request longer than ${MAX_LINE} bytes` });
        sock.end();
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() !== '') void this.#dispatch(sock, line);
      }
    });
  }

  async #dispatch(sock: Socket, line: string): Promise<void> {
    let req: Request;
    try {
      req = parseRequest(line);
    } catch (e) {
      this.#write(sock, { id: 0, ok: false, error: (e as Error).message });
      return;
    }
    const handler = this.#handlers.get(req.command);
    if (!handler) {
      this.#write(sock, { id: req.id, ok: false, error: `unknown command "${req.command}"; known: ${this.commands().join(', ')}` });
      return;
    }
    try {
      const result = await handler(req.args);
      this.#write(sock, { id: req.id, ok: true, result: result ?? null });
    } catch (e) {
      this.#write(sock, { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }

  #write(sock: Socket, res: Response): void {
    if (sock.destroyed) return;
    sock.write(`${JSON.stringify(this.#redactor.redact(res))}\n`);
  }
}

function parseRequest(line: string): Request {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error('request is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('request must be a JSON object');
  const o = v as { [k: string]: unknown };
  if (typeof o.id !== 'number' || !Number.isSafeInteger(o.id)) throw new Error('request.id must be an integer');
  if (typeof o.command !== 'string') throw new Error('request.command must be a string');
  const args = o.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new Error('request.args must be an object');
  return { id: o.id, command: o.command, args: args as { [k: string]: Json } };
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
