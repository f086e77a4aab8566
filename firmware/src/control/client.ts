/**
 * Control socket client: one connection, requests matched to replies by id.
 */
import { connect, type Socket } from 'node:net';
import type { Command, Json, Response, ResultOf } from './protocol.ts';

export class ControlError extends Error {}

export class ControlClient {
  readonly #sock: Socket;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #buf = '';

  private constructor(sock: Socket) {
    this.#sock = sock;
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      this.#buf += chunk;
      let nl: number;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        this.#onLine(line);
      }
    });
    const failAll = (e: Error) => {
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
    sock.on('error', (e) => failAll(new ControlError(e.message)));
    sock.on('close', () => failAll(new ControlError('daemon closed the connection')));
  }

  static connect(path: string, timeoutMs = 2000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new ControlError(`timeout connecting to ${path}`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new ControlClient(sock));
      });
      sock.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why =
          e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
            ? 'is sitelinkd running?'
            : e.code === 'EACCES'
              ? 'permission denied (root only)'
              : e.message;
        reject(new ControlError(`cannot connect to ${path}: ${why}`));
      });
    });
  }

  #onLine(line: string): void {
    let res: Response;
    try {
      res = JSON.parse(line) as Response;
    } catch {
      return;
    }
    const p = this.#pending.get(res.id);
    if (!p) return;
    this.#pending.delete(res.id);
    if (res.ok) p.resolve(res.result);
    else p.reject(new ControlError(res.error));
  }

  request<C extends Command>(command: C, args: { [k: string]: Json } = {}, timeoutMs = 30_000): Promise<ResultOf[C]> {
    const id = this.#nextId++;
    return new Promise<ResultOf[C]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ControlError(`no reply to "${command}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as ResultOf[C]);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#sock.write(`${JSON.stringify({ id, command, args })}\n`);
    });
  }

  close(): void {
    this.#sock.end();
  }
}

/** One request on a fresh connection. */
export async function controlRequest<C extends Command>(
  path: string,
  command: C,
  args: { [k: string]: Json } = {},
  timeoutMs?: number,
): Promise<ResultOf[C]> {
  const c = await ControlClient.connect(path);
  try {
    return await c.request(command, args, timeoutMs);
  } finally {
    c.close();
  }
}
