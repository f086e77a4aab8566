// The control socket against clients that misbehave: a client that pipelines
// requests and never reads the replies, one that floods slow requests, one that
// holds half a request, more clients than the daemon wants, a bare newline, and
// `check` pointed at /dev/zero and a FIFO. The daemon must stay bounded and
// keep answering everybody else.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../firmware/src/control/server.ts';
import { mountPolicyHandlers } from '../../firmware/src/control/policy-handlers.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { NegotiationLog } from '../../firmware/src/log/negotiation-log.ts';
import { FailureBook } from '../../firmware/src/log/failures.ts';
import type { SitelinkConfig } from '../../firmware/src/config/types.ts';
import { waitUntil } from '../lib/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'sl-ctl-lim-'));
let n = 0;

async function serverWith(
  t: { teardown(fn: () => unknown): void },
  limits: ConstructorParameters<typeof ControlServer>[0]['limits'] = {},
): Promise<{ server: ControlServer; path: string }> {
  const path = join(dir, `c${++n}.sock`);
  const server = new ControlServer({ path, limits });
  await server.listen();
  t.teardown(() => server.close());
  return { server, path };
}

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Lines received on s (collects from now on). */
function lines(s: Socket): string[] {
  const out: string[] = [];
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      out.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  return out;
}

const closed = (s: Socket): Promise<boolean> => waitUntil(() => s.destroyed || s.readableEnded, 5000, 20);

t.test('a bare newline gets an error reply', async (t) => {
  const { path } = await serverWith(t);
  const s = await open(path);
  t.teardown(() => s.destroy());
  const got = lines(s);
  s.write('\n');
  t.ok(await waitUntil(() => got.length === 1, 3000, 20), 'one reply');
  t.match(JSON.parse(got[0] ?? '{}'), { id: 0, ok: false, error: /empty request/ });
});

t.test('replies respect backpressure: a client that does not read stops being read', async (t) => {
  const { server, path } = await serverWith(t);
  let handled = 0;
  const payload = 'x'.repeat(4096);
  server.handle('status', () => {
    handled++;
    return { payload };
  });
  const s = await open(path);
  t.teardown(() => s.destroy());
  s.pause(); // never read
  const total = 5000;
  const req = (i: number): string => `${JSON.stringify({ id: i + 1, command: 'status', args: {} })}\n`;
  // Write as fast as the server lets us; stop when it stops taking requests.
  let written = 0;
  const writeAll = (): void => {
    while (written < total) if (!s.write(req(written++))) return void s.once('drain', writeAll);
  };
  writeAll();
  // Wait until the server settles: nothing handled for a while.
  let last = -1;
  await waitUntil(() => {
    const still = handled === last;
    last = handled;
    return still && handled > 0;
  }, 20_000, 300);
  t.ok(
    handled < total / 4,
    `the server stopped reading after ${handled} of ${total} requests (${(total * payload.length) / 1e6} MB of replies undrained)`,
  );
  // Reading resumes the flow: every request is answered in the end.
  const got = lines(s);
  s.resume();
  t.ok(await waitUntil(() => got.length === total, 60_000, 100), `all ${total} answered once the client reads (${got.length})`);
});

t.test('at most maxPending requests of one client run at once', async (t) => {
  const { server, path } = await serverWith(t, { maxPending: 4 });
  let inflight = 0;
  let peak = 0;
  server.handle('health', async () => {
    peak = Math.max(peak, ++inflight);
    await new Promise((r) => setTimeout(r, 5));
    inflight--;
    return {};
  });
  const s = await open(path);
  t.teardown(() => s.destroy());
  const got = lines(s);
  s.write(Array.from({ length: 200 }, (_, i) => `${JSON.stringify({ id: i + 1, command: 'health', args: {} })}\n`).join(''));
  t.ok(await waitUntil(() => got.length === 200, 20_000, 20), 'all answered');
  t.ok(peak <= 4 && peak > 0, `peak concurrency ${peak} <= 4`);
});

t.test('a client holding half a request is closed after the idle timeout', async (t) => {
  const { server, path } = await serverWith(t, { idleMs: 300 });
  const s = await open(path);
  t.teardown(() => s.destroy());
  const got = lines(s);
  s.write('{"id":1,"comm');
  t.ok(await closed(s), 'closed');
  t.match(got.join('\n'), /idle/, 'told why');
  t.equal(server.clients, 0, 'no client left');
});

t.test('client limit: the longest-idle client makes room, the newcomer is served', async (t) => {
  const { server, path } = await serverWith(t, { maxClients: 8 });
  server.handle('status', () => ({ up: true }));
  const held: Socket[] = [];
  t.teardown(() => held.forEach((s) => s.destroy()));
  for (let i = 0; i < 20; i++) {
    const s = await open(path);
    s.on('error', () => {});
    s.resume(); // read (and drop) whatever the server says, so its close is seen
    s.write('{"id":1,"comm'); // half a request each
    held.push(s);
  }
  t.ok(await waitUntil(() => server.clients <= 8, 3000, 20), `at most 8 clients held (${server.clients})`);
  const r = await controlRequest(path, 'status', {}, 3000);
  t.same(r, { up: true }, 'a new client still gets its answer');
  t.ok(await waitUntil(() => held.slice(0, 12).every((s) => s.destroyed || s.readableEnded), 5000, 20), 'the oldest idle clients were closed');
});

t.test('check never reads devices, FIFOs or huge files, and does not stall the daemon', async (t) => {
  const { server, path } = await serverWith(t);
  const log = NegotiationLog.open({ file: join(dir, 'log', 'negotiation.log'), syslog: false, level: 'debug' });
  t.teardown(() => log.close());
  mountPolicyHandlers(server, {
    config: () => ({ file: join(dir, 'none.conf') }) as SitelinkConfig,
    apply: () => {},
    log,
    failures: new FailureBook(),
  });
  const fifo = join(dir, 'check.fifo');
  execFileSync('mkfifo', [fifo]);
  // A FIFO without a writer would block a synchronous open() for good: health could not answer.
  const pending = controlRequest(path, 'check', { file: fifo }, 5000);
  const health = await controlRequest(path, 'health', {}, 5000);
  t.ok(health, 'the daemon answers while check looks at the FIFO');
  t.match(await pending, { ok: false, errors: [/not a regular file \(a FIFO\)/] }, 'FIFO refused');
  t.match(await controlRequest(path, 'check', { file: '/dev/zero' }, 5000), { ok: false, errors: [/\/dev\/zero: not a regular file \(a device\)/] }, '/dev/zero refused, not read');
});
