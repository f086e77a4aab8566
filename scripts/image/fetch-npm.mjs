// Fetches npm's own release tarball from the registry and checks it against the
// integrity the Dockerfile pins, for the build container. Debian's `npm` package
// pulls some 380 node-* packages (over a minute of dpkg in a cold docker build);
// npm's tarball carries its dependencies itself.
// Usage: node fetch-npm.mjs VERSION SHA512-INTEGRITY OUT.tgz
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const [version, integrity, out] = process.argv.slice(2);
if (!version || !integrity?.startsWith('sha512-') || !out) {
  console.error('usage: node fetch-npm.mjs VERSION sha512-... OUT.tgz');
  process.exit(2);
}
const registry = (process.env.npm_config_registry ?? 'https://registry.npmjs.org/').replace(/\/?$/, '/');
const url = `${registry}npm/-/npm-${version}.tgz`;
let body;
for (let attempt = 1; ; attempt++) {
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = Buffer.from(await res.arrayBuffer());
    break;
  } catch (e) {
    if (attempt === 3) {
      console.error(`fetch-npm: ${url}: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
}
const got = `sha512-${createHash('sha512').update(body).digest('base64')}`;
if (got !== integrity) {
  console.error(`fetch-npm: ${url} has integrity ${got}, expected ${integrity}`);
  process.exit(1);
}
writeFileSync(out, body);
