// A TypeError or ReferenceError thrown by our own code is a bug, not a refusal or an
// I/O failure: where it happened matters more than its message. Issue 10: the board's
// log once said only "sitelinkd: Date is not a constructor", and the origin was never
// found. Each place that survives an error (the control server, the daemon's periodic
// tasks, sitelinkctl) keeps the stack of a bug.
import { redactor, type Redactor } from './redact.ts';

export function isBug(e: unknown): e is TypeError | ReferenceError {
  return e instanceof TypeError || e instanceof ReferenceError;
}

/** The error's stack (its message and V8's frames), redacted (by the process's redactor unless given another). */
export function bugStack(e: Error, by: Redactor = redactor): string {
  return by.redactString(e.stack ?? e.message);
}

/**
 * Writes "WHERE: STACK" for a bug, once per WHERE (a periodic task failing every second
 * must not fill the output); other errors are left to the caller's own report.
 */
export function bugReporter(write: (line: string) => void): (where: string, e: unknown) => void {
  const reported = new Set<string>();
  return (where, e) => {
    if (!isBug(e) || reported.has(where)) return;
    reported.add(where);
    write(`${where}: ${bugStack(e)}\n`);
  };
}
