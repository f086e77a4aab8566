// Waiting for things in tests, always with a deadline.
import type { Readable } from 'node:stream';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves with the first line of `stream` matching `re`; rejects after
 * timeoutMs or when the stream ends first. Lines seen are kept for the error.
 */
export function waitForLine(stream: Readable, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const seen: string[] = [];
    const done = (err: Error | null, line?: string): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      if (err) reject(err);
      else resolve(line ?? '');
    };
    const onData = (chunk: Buffer | string): void => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        seen.push(line);
        if (re.test(line)) { done(null, line); return; }
      }
    };
    const onEnd = (): void => done(new Error(`stream ended before ${re}; saw:\n${seen.slice(-20).join('\n')}`));
    const timer = setTimeout(
      () => done(new Error(`no line matching ${re} within ${timeoutMs} ms; saw:\n${seen.slice(-20).join('\n')}`)),
      timeoutMs,
    );
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}

/** Polls `check` every intervalMs until it returns true or timeoutMs passes. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}
