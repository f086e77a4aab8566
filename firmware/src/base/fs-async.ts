// The few file operations the daemon runs off the event loop (on libuv's thread
// pool), as promises over node:fs's callback API. node:fs/promises would load its
// FileHandle machinery with readline and the file watchers, which stay in the heap
// for the process's life (issue 10: with perf_hooks, about 0.3 MiB of a one-tunnel
// gateway's RSS).
import { close, fstat, open, read, readFile, stat, type Stats } from 'node:fs';

type Callback<T> = (e: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(start: (done: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => start((e, value) => (e ? reject(e) : resolve(value))));
}

/** open(2): the file descriptor. */
export function openAsync(file: string, flags: number): Promise<number> {
  return call<number>((done) => open(file, flags, done));
}

/** fstat(2). */
export function fstatAsync(fd: number): Promise<Stats> {
  return call<Stats>((done) => fstat(fd, done));
}

/** stat(2). */
export function statAsync(file: string): Promise<Stats> {
  return call<Stats>((done) => stat(file, done));
}

/** read(2) into `buf` at `offset`: the bytes read (0 at the end of the file). */
export function readAsync(fd: number, buf: Buffer, offset: number, length: number): Promise<number> {
  return call<number>((done) => read(fd, buf, offset, length, null, (e, n) => done(e, n)));
}

/** close(2). */
export function closeAsync(fd: number): Promise<void> {
  return call<void>((done) => close(fd, (e) => done(e ?? null, undefined)));
}

/** The whole file. */
export function readFileAsync(file: string): Promise<Buffer> {
  return call<Buffer>((done) => readFile(file, done));
}
