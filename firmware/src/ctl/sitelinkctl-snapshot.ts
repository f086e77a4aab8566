/**
 * sitelinkctl for a V8 startup snapshot (bundled as CommonJS to
 * dist/sitelinkctl-snapshot.cjs by scripts/bundle.mjs). The board's Node
 * (Debian's) has no built-in startup snapshot: each start compiles Node's own
 * bootstrap, then this bundle, which under QEMU's TCG is most of a
 * sitelinkctl run. The board builds a snapshot of both once
 * (`node --build-snapshot` on this file, /usr/lib/sitelink/ctl-snapshot) and
 * /usr/sbin/sitelinkctl starts from it; without one, this file also runs
 * directly as a script (`node sitelinkctl-snapshot.cjs ARGS`).
 * The commands themselves are cli.ts's, as for dist/sitelinkctl.mjs.
 */
import v8 from 'node:v8';
import { runCli } from './cli.ts';

function main(): void {
  // From a snapshot, argv[1] is the name the wrapper passes in the script's
  // place, as for `node FILE ARGS`: the arguments start at 2 either way.
  runCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
  }).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => {
      process.stderr.write(`sitelinkctl: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

if (v8.startupSnapshot.isBuildingSnapshot()) v8.startupSnapshot.setDeserializeMainFunction(main);
else main();
