// The fuzzing stage's self-test (scripts/fuzz.mjs): a bug behind a 4-byte
// magic value that blind random inputs would need ~2^32 tries to hit and a
// coverage-guided fuzzer finds byte by byte in a few thousand. If libFuzzer
// stops getting the JavaScript edge counters, this is no longer found and
// the stage fails instead of passing silently.
export function fuzz(data: Buffer): void {
  if (data.length >= 4 && data[0] === 0x53 && data[1] === 0x4c && data[2] === 0x46 && data[3] === 0x5a) {
    throw new Error('canary found');
  }
}
