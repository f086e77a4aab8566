// Property checks for the fuzz targets: a failed one throws, which the
// driver reports as a crash (and tap, replaying the corpus, as a failure).

export class FuzzPropertyError extends Error {
  override readonly name = 'FuzzPropertyError';
}

export function check(ok: boolean, what: string): void {
  if (!ok) throw new FuzzPropertyError(what);
}

/** A WireResult-style rejection: a non-empty reason and an offset inside the input. */
export function checkRejection(r: { reason: string; offset: number }, len: number): void {
  check(typeof r.reason === 'string' && r.reason.length > 0, 'rejected without a reason');
  check(Number.isInteger(r.offset) && r.offset >= 0 && r.offset <= len, `rejection offset ${r.offset} outside 0..${len}`);
}

/** Runs f, accepting only the errors the decoder is documented to throw. */
export function expectOnly<T>(f: () => T, ...allowed: (abstract new (...args: never[]) => Error)[]): T | undefined {
  try {
    return f();
  } catch (e) {
    if (allowed.some((c) => e instanceof c)) return undefined;
    throw e;
  }
}
