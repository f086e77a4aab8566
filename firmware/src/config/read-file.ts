/**
 * Reading a configuration or secrets file without trusting it: it must be a regular
 * file (not /dev/zero, a FIFO that would block for good, or a directory), no larger
 * than MAX_CONFIG_BYTES (checked before reading, and again while reading, for a file
 * that grows), and text: a NUL byte or invalid UTF-8 means someone pointed us at a
 * binary, and the parser would only produce pages of garbage errors.
 *
 * The file is opened O_NONBLOCK so that opening a FIFO returns at once and fstat can
 * refuse it. readTextFile runs every step on libuv's thread pool, so the control
 * socket can read a file on a client's behalf without stalling IKE.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { closeAsync, fstatAsync, openAsync, readAsync } from '../base/fs-async.ts';

/** 1 MiB: a gateway with hundreds of peers is a few hundred kilobytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export type TextFile = { ok: true; text: string } | { ok: false; message: string };

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function notRegular(kind: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  const what = kind.isDirectory()
    ? 'a directory'
    : kind.isFIFO()
      ? 'a FIFO'
      : kind.isCharacterDevice() || kind.isBlockDevice()
        ? 'a device'
        : kind.isSocket()
          ? 'a socket'
          : 'special';
  return `not a regular file (${what})`;
}

function tooLarge(max: number): string {
  return `larger than ${max} bytes; refusing to read it`;
}

/** The text of `bytes`, or why it is not text (with the line it fails on). */
export function decodeText(bytes: Buffer): TextFile {
  const nul = bytes.indexOf(0);
  if (nul >= 0) return { ok: false, message: `a binary file, not text (NUL byte on line ${lineAt(bytes, nul)})` };
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    // Name the line: the lossy decode marks invalid sequences with U+FFFD.
    const lines = bytes.toString('utf8').split('\n');
    const bad = lines.findIndex((l) => l.includes('\ufffd'));
    return { ok: false, message: `not UTF-8 text (invalid byte sequence on line ${bad + 1})` };
  }
}

function lineAt(bytes: Buffer, offset: number): number {
  let n = 1;
  for (let i = bytes.indexOf(10); i >= 0 && i < offset; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

function errnoMessage(e: unknown): string {
  return `cannot read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`;
}

/** Synchronous variant for startup and the command line tool. */
export function readTextFileSync(file: string, max = MAX_CONFIG_BYTES): TextFile {
  let fd: number;
  try {
    fd = openSync(file, FLAGS);
  } catch (e) {
    return { ok: false, message: errnoMessage(e) };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, message: notRegular(st) };
    if (st.size > max) return { ok: false, message: tooLarge(max) };
    const buf = Buffer.alloc(max + 1);
    let len = 0;
    for (;;) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      if (len > max) return { ok: false, message: tooLarge(max) };
    }
    return decodeText(buf.subarray(0, len));
  } catch (e) {
    return { ok: false, message: errnoMessage(e) };
  } finally {
    closeSync(fd);
  }
}

/** Off the event loop: every system call runs on the thread pool. */
export async function readTextFile(file: string, max = MAX_CONFIG_BYTES): Promise<TextFile> {
  let fd: number;
  try {
    fd = await openAsync(file, FLAGS);
  } catch (e) {
    return { ok: false, message: errnoMessage(e) };
  }
  try {
    const st = await fstatAsync(fd);
    if (!st.isFile()) return { ok: false, message: notRegular(st) };
    if (st.size > max) return { ok: false, message: tooLarge(max) };
    const buf = Buffer.alloc(max + 1);
    let len = 0;
    for (;;) {
      const bytesRead = await readAsync(fd, buf, len, buf.length - len);
      if (bytesRead === 0) break;
      len += bytesRead;
      if (len > max) return { ok: false, message: tooLarge(max) };
    }
    return decodeText(buf.subarray(0, len));
  } catch (e) {
    return { ok: false, message: errnoMessage(e) };
  } finally {
    await closeAsync(fd);
  }
}
