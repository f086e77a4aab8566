// A real IKEv1 negotiation (main mode + quick mode) with the datagrams on the
// wire altered by the input, so the fuzzer reaches the encrypted and
// authenticated steps (MM5/MM6, quick mode, informational) that random bytes
// never get to. Input format and properties: lib/exchange.ts exchangeFuzz.
import { exchangeFuzz } from './lib/exchange.ts';

export function fuzz(data: Buffer): void {
  exchangeFuzz(data);
}
