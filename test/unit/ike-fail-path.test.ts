// The fail path both IKE versions share (firmware/src/ike/common/fail-path.ts):
// count, log, record, notify, remove, in that order and once each; an
// unrecorded failure is still counted and logged; and no IKE module emits a
// failure record except through it.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { failWith, type FailHost } from '../../firmware/src/ike/common/fail-path.ts';
import type { Action } from '../../firmware/src/ike/exchange/types.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
type Sa = { peer: { name: string } };

function host(steps: string[]): FailHost<Sa, 'timeout' | 'auth-failed'> & { out: Action[] } {
  const out: Action[] = [];
  return {
    out: new Proxy(out, {
      get: (target, k, r) => (k === 'push' ? (...a: Action[]) => (steps.push(`record ${a[0]?.kind}`), target.push(...a)) : Reflect.get(target, k, r)),
    }),
    log: (level, _sa, phase, step, message) => steps.push(`log ${level} ${phase} ${step} ${message}`),
    countFailure: (phase, code) => steps.push(`count ${phase} ${code}`),
  };
}

const sa: Sa = { peer: { name: 'branch' } };
const detail = { code: 'authentication-failed' as const, role: 'initiator' as const, offered: [], acceptable: [] };

t.test('the steps in order, each once', async (t) => {
  const steps: string[] = [];
  const h = host(steps);
  failWith(h, sa, {
    phase: 'main',
    code: 'auth-failed',
    level: 'error',
    log: { phase: 'main', step: 'MM5_SENT', message: 'main mode failed: HASH' },
    record: { reason: 'HASH', detail },
    notify: () => steps.push('notify'),
    remove: () => steps.push('remove'),
  });
  t.same(steps, ['count main auth-failed', 'log error main MM5_SENT main mode failed: HASH', 'record failed', 'notify', 'remove']);
  t.match(h.out, [{ kind: 'failed', peer: 'branch', phase: 'main', reason: 'HASH', detail: { code: 'authentication-failed' } }]);
});

t.test('an unrecorded failure is counted and logged, nothing else', async (t) => {
  const steps: string[] = [];
  failWith(host(steps), sa, { phase: 'quick', code: 'timeout', level: 'warning', log: { phase: 'quick', step: 'QM1', message: 'x' }, record: null });
  t.same(steps, ['count quick timeout', 'log warning quick QM1 x']);
});

t.test('no IKE module emits a failure record except through the fail path', async (t) => {
  const root = path.join(here, '../../firmware/src/ike');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const offenders = files.filter((f) => f !== path.join('common', 'fail-path.ts') && /kind:\s*'failed'\s*,/.test(readFileSync(path.join(root, f), 'utf8')));
  t.same(offenders, [], 'IKEv1 fail.ts and the IKEv2 node both go through failWith()');
});
