// Shutdown (SIGTERM/SIGINT): the periodic work stops, every peer gets its
// Deletes, and after a moment for them to leave the sockets close, the engine
// removes its SAs (wiping their keys), the nftables table goes and the
// pre-shared keys are wiped. Idempotent: a second signal waits for the first.

import { removeRuleset } from '../policy/nft-apply.ts';
import type { Daemon } from './daemon.ts';

const DELETE_GRACE_MS = 300;

const stopping = new WeakMap<Daemon, Promise<void>>();

export function shutdownDaemon(d: Daemon): Promise<void> {
  const pending = stopping.get(d);
  if (pending) return pending;
  const done = (async () => {
    d.scheduler.stop();
    d.commits.close();
    d.reportCounters();
    d.log.log({ level: 'info', phase: 'daemon', step: 'STOP', message: 'shutting down: deleting SAs' });
    d.executor.apply(d.node.shutdown());
    // Give the Deletes a moment to leave before the sockets close.
    await new Promise((resolve) => setTimeout(resolve, DELETE_GRACE_MS));
    d.transport.close();
    d.dataplane.close();
    await removeRuleset().catch((e: unknown) => {
      d.log.log({ level: 'error', phase: 'daemon', step: 'NFT', message: `nftables table not removed: ${String(e)}` });
    });
    for (const p of d.running.peers.values()) p.psk?.wipe();
    await d.control.close().catch(() => undefined);
    await d.log.close().catch(() => undefined);
  })();
  stopping.set(d, done);
  return done;
}
