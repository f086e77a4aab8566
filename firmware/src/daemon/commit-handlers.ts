/**
 * Control handlers for commit-confirmed changes and the config history
 * (daemon/commit-confirm.ts): reload [confirm], confirm, history, rollback. They
 * replace the plain reload of policy-handlers.ts, which stays the core of both.
 */
import { CONFIRM_MAX_SECONDS, CONFIRM_MIN_SECONDS, type CommitConfirm } from './commit-confirm.ts';
import type { Json } from '../control/protocol.ts';
import type { ControlServer } from '../control/server.ts';

function confirmArg(args: { [k: string]: Json }): number | null {
  const c = args.confirmSeconds;
  if (c === undefined || c === null) return null;
  if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < CONFIRM_MIN_SECONDS || c > CONFIRM_MAX_SECONDS) {
    throw new Error(`confirmSeconds must be a whole number of seconds ${CONFIRM_MIN_SECONDS}..${CONFIRM_MAX_SECONDS}`);
  }
  return c;
}

export function mountCommitHandlers(server: ControlServer, commits: CommitConfirm): void {
  server.handle('reload', (args) => commits.reload(confirmArg(args)));
  server.handle('confirm', () => commits.confirm());
  server.handle('history', () => commits.list());
  server.handle('rollback', (args) => {
    const i = args.index;
    if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0) throw new Error('rollback needs {"index": N}, N >= 0');
    return commits.rollback(i, confirmArg(args));
  });
}
