// The exchange environment of a running gateway: the monotonic clock, the
// kernel's CSPRNG (node:crypto randomBytes) and the calendar clock. Tests
// inject their own (test/unit/ike-exchange-harness.ts seeds it).

import { randomBytes } from 'node:crypto';
import { monotonicMs } from '../base/clock.ts';
import type { ExchangeEnv } from './exchange/types.ts';

export const systemEnv: ExchangeEnv = {
  now: monotonicMs,
  random: (n) => randomBytes(n),
  wallClock: () => new Date(),
};
