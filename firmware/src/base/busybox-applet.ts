/**
 * Whether a command is a busybox applet, told from the file system alone: the
 * command found on PATH resolves (through its symlinks) to a file named
 * `busybox`, as every applet on the board does (/usr/bin/logger, /sbin/ip ->
 * /bin/busybox).
 *
 * Callers used to ask the program itself (`logger --version`, an empty `ip
 * -batch`), and each such probe is a process Node starts: a fork of the daemon,
 * 70-130 ms of its main thread on the emulated board, on the start's path to the
 * first tunnel (issue 14). The probe stays for anything that is not busybox.
 */
import { accessSync, constants, realpathSync } from 'node:fs';
import path from 'node:path';

/** The file `command` runs: itself if it has a slash, else the first executable on PATH. */
export function findOnPath(command: string, pathVar = process.env['PATH'] ?? ''): string | null {
  const candidates = command.includes('/') ? [command] : pathVar.split(':').filter((d) => d !== '').map((d) => path.join(d, command));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return null;
}

export function isBusyboxApplet(command: string, pathVar?: string): boolean {
  const file = findOnPath(command, pathVar);
  if (file === null) return false;
  try {
    return path.basename(realpathSync(file)) === 'busybox';
  } catch {
    return false;
  }
}
