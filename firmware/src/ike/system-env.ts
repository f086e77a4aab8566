// The exchange environment of a running gateway: the monotonic clock, the
// kernel's CSPRNG (node:crypto randomBytes) and the calendar clock. Tests
// inject their own (test/unit/ike-exchange-harness.ts seeds it).

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { ExchangeEnv } from './exchange/types.ts';

export const systemEnv: ExchangeEnv = {
  now: () => performance.now(),
  random: (n) => randomBytes(n),
  wallClock: () => new Date(),
};
