// runNft's failures (policy/nft-apply.ts): an nft that exits before reading its
// ruleset, and one that never ends, are failed runs with a reason, not a crash or a
// start that waits for good. `nft` here is a stand-in command: these are the
// process's failures, not nftables' (test/netns/policy-nft.test.ts runs the real one).
import t from 'tap';
import { runNft } from '../../firmware/src/policy/nft-apply.ts';

// Far more than a pipe holds (64 KiB), so the write is still going when the reader is gone.
const big = '# rule\n'.repeat(200_000);

t.test('an nft that exits without reading fails with its status; the write error is not a crash', async (t) => {
  await t.rejects(runNft(big, { nft: 'false' }), /nft failed \(1\)/);
  // The process is still here and a later run works.
  await t.resolves(runNft(big, { prefix: ['sh', '-c', 'cat > /dev/null', 'nft-stand-in'], nft: 'unused' }));
});

t.test('an nft that never ends is killed at the limit and fails', async (t) => {
  const started = Date.now();
  await t.rejects(runNft('x', { prefix: ['sh', '-c', 'exec sleep 30', 'nft-stand-in'], nft: 'unused', timeoutMs: 300 }), /nft did not finish in 0.3 s: killed/);
  t.ok(Date.now() - started < 10_000, 'it did not wait for the process');
});

t.test('a failing nft reports its stderr', async (t) => {
  await t.rejects(runNft('x', { prefix: ['sh', '-c', 'echo "Error: syntax error" >&2; exit 1', 'nft-stand-in'], nft: 'unused' }), /nft failed \(1\): Error: syntax error/);
});
