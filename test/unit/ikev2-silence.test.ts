// IKEv2 (RFC 7296 §2.4): when retransmission gives up, the failure record says where
// the peer went silent, as for IKEv1 (issue 15): no answer to IKE_SA_INIT; IKE_SA_INIT
// answered but not our IKE_AUTH (the key or identity lines); silent on an established
// IKE SA (the peer is gone).

import t from 'tap';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import type { FailureDetail } from '../../firmware/src/ike/exchange/types.ts';
import { renderExplain } from '../../firmware/src/ctl/render-explain.ts';
import { failureRecord } from '../../firmware/src/daemon/failure-records.ts';
import { Harness, type HarnessOptions } from './ike-exchange-harness.ts';

const v2 = (o: HarnessOptions = {}): Harness<Ikev2Node> => new Harness<Ikev2Node>(o, (env, peers, options) => new Ikev2Node(env, peers, options));

function untilFailed(h: Harness<Ikev2Node>, ms: number): FailureDetail | undefined {
  for (let waited = 0; waited < ms && h.failures.A.length === 0; waited += 1000) h.advance(1000);
  return h.failures.A[0];
}

t.test('no answer to IKE_SA_INIT', async (t) => {
  const h = v2();
  h.filter = (d) => (d.from === 'A' ? null : d.data);
  h.apply('A', h.a.initiate('gwB'));
  const f = untilFailed(h, 300_000);
  t.equal(f?.code, 'timeout');
  t.equal(f?.silentAt, 'first-message');
  t.equal(f?.unanswered, 'IKE_SA_INIT (our proposals and key exchange)');
  t.same(f?.configLines, ['peers.gwB.remote = 198.51.100.2']);
  t.match(renderExplain('gwB', failureRecord('gwB', 'main', f!, [], new Date(0))), 'Why: The peer did not answer at all.');
});

t.test('IKE_SA_INIT answered, IKE_AUTH not', async (t) => {
  const h = v2();
  h.filter = (d) => (d.from === 'B' && h.wire.filter((w) => w.from === 'B').length > 1 ? null : d.data);
  h.apply('A', h.a.initiate('gwB'));
  h.pump();
  const f = untilFailed(h, 300_000);
  t.equal(f?.code, 'timeout');
  t.equal(f?.silentAt, 'authentication');
  t.equal(f?.unanswered, 'IKE_AUTH (our identity and authentication, encrypted)');
  t.equal(f?.lastAnswered, 'IKE_SA_INIT');
  t.same(f?.configLines, [
    'secrets file, psk { gwB.lab = ... } (the same key as on the peer)',
    'peers.gwB.remote-id = gwB.lab',
    'peers.gwB.local-id = gwA.lab',
  ]);
  const text = renderExplain('gwB', failureRecord('gwB', 'main', f!, [], new Date(0)));
  t.match(text, 'most likely');
  t.match(text, 'lost as IP fragments');
});

t.test('silent on an established IKE SA: the peer is gone', async (t) => {
  const h = v2({ peerA: { dpd: { delaySeconds: 10, timeoutSeconds: 30, action: 'clear' } } });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] });
  h.filter = (d) => (d.from === 'B' ? null : d.data);
  const f = untilFailed(h, 300_000);
  t.equal(f?.code, 'timeout');
  t.equal(f?.silentAt, 'established');
  t.match(f?.unanswered ?? '', /^INFORMATIONAL|^CREATE_CHILD_SA/);
  t.match(renderExplain('gwB', failureRecord('gwB', 'main', f!, [], new Date(0))), 'Why: The peer stopped answering on an established tunnel');
});
