/** sitelinkctl entry point (bundled to dist/sitelinkctl.mjs by scripts/bundle.mjs). */
import { runCli } from './cli.ts';

const code = await runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
});
process.exitCode = code;
