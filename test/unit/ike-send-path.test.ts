// The one send path of both IKE versions (firmware/src/ike/common/send-path.ts):
// new messages, timer retransmissions and repeated answers all leave as 'send'
// actions from transmit(), resends counted there and retransmissions logged;
// and no other IKE module pushes a 'send' action past it.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { transmit, type SendHost } from '../../firmware/src/ike/common/send-path.ts';
import type { Action } from '../../firmware/src/ike/exchange/types.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

function host(): SendHost<string> & { resends: string[]; logs: string[] } {
  const out: Action[] = [];
  const resends: string[] = [];
  const logs: string[] = [];
  return {
    out,
    resends,
    logs,
    log: (_level, sa, phase, step, message) => logs.push(`${sa ?? '-'} ${phase} ${step} ${message}`),
    countResend: (kind) => resends.push(kind),
  };
}

const to = { address: '2001:db8::2', port: 4500 };

t.test('each reason: sends pushed in order, resends counted, retransmissions logged', async (t) => {
  const h = host();
  transmit(h, 'sa1', [{ data: Buffer.from('a'), to, localPort: 4500 }], { kind: 'new' });
  transmit(h, 'sa1', [{ data: Buffer.from('b1'), to, localPort: 4500 }, { data: Buffer.from('b2'), to, localPort: 4500 }], {
    kind: 'retransmit', attempt: 2, phase: 'main', step: 'MM5_SENT', message: 'retransmit 2',
  });
  transmit(h, 'sa1', [{ data: Buffer.from('c'), to, localPort: 500 }], { kind: 'repeat' });
  transmit(h, 'sa1', [], { kind: 'retransmit', attempt: 1, phase: 'main', step: 'X', message: 'nothing' });
  t.same(h.out.map((a) => (a.kind === 'send' ? `${a.localPort}:${a.data.toString()}` : a.kind)), ['4500:a', '4500:b1', '4500:b2', '500:c']);
  t.same(h.resends, ['retransmit', 'repeat'], 'one count per resent message, none for a new one or an empty resend');
  t.same(h.logs, ['sa1 main MM5_SENT retransmit 2'], 'the retransmission logged once');
});

t.test('no IKE module pushes a send action except the send path', async (t) => {
  const root = path.join(here, '../../firmware/src/ike');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  t.ok(files.length > 50, `${files.length} IKE source files read`);
  const offenders = files.filter((f) => {
    if (f === path.join('common', 'send-path.ts')) return false;
    return /push\(\{\s*kind:\s*'send'/.test(readFileSync(path.join(root, f), 'utf8'));
  });
  t.same(offenders, [], 'every datagram goes through transmit()');
});
