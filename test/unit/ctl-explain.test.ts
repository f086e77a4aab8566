import t from 'tap';
import { renderExplain } from '../../firmware/src/ctl/render-explain.ts';
import type { FailureRecord } from '../../firmware/src/log/failure-record.ts';
import { Redactor } from '../../firmware/src/log/redact.ts';
import { RECORDS } from './explain-records.ts';

const base = { peer: 'hq', time: '2026-11-22T20:00:00.000Z', exchange: [], offered: [], acceptable: [] };

t.test('main mode, we responded, peer offered only proposals we do not accept', async (t) => {
  const r: FailureRecord = {
    ...base, phase: 'main', role: 'responder', reason: 'no-proposal-chosen',
    exchange: [
      { from: 'remote', message: 'MM1 (SA: 2 proposals)' },
      { from: 'local', message: 'INFORMATIONAL', notify: 'NO-PROPOSAL-CHOSEN' },
    ],
    offered: ['aes128-sha1-modp1024', 'aes128-sha1-modp2048'],
    acceptable: ['aes256-sha256-modp2048'],
    configField: 'peers.hq.proposals',
  };
  const text = renderExplain('hq', r);
  t.match(text, 'Last failed negotiation with hq: 2026-11-22T20:00:00.000Z, main mode (phase 1), we were the responder.');
  t.match(text, '1. hq -> us: MM1 (SA: 2 proposals)');
  t.match(text, '2. we -> hq: INFORMATIONAL [NO-PROPOSAL-CHOSEN]');
  t.match(text, "None of the peer's main mode proposals is acceptable to us.");
  t.match(text, 'Offered by hq: aes128-sha1-modp1024, aes128-sha1-modp2048');
  t.match(text, 'Acceptable to us (peers.hq.proposals): aes256-sha256-modp2048');
  t.match(text, '    peers.hq.proposals = aes256-sha256-modp2048, aes128-sha1-modp1024', 'suggests the peer\'s first strong proposal');
});

t.test('peer offers only weak proposals: recommend fixing the peer, allow-weak as last resort', async (t) => {
  const text = renderExplain('hq', {
    ...base, phase: 'main', role: 'responder', reason: 'no-proposal-chosen',
    offered: ['3des-md5-modp1024'], acceptable: ['aes128-sha256-modp2048'],
  });
  t.match(text, 'Every proposal the peer offers is weak');
  t.match(text, 'configure the peer with one of ours (aes128-sha256-modp2048)');
  t.match(text, 'allow-weak = yes');
  t.notMatch(text, /peers\.hq\.proposals = .*md5/, 'never proposes a weak line directly');
});

t.test('we initiated and the peer refused: tell what the peer must accept', async (t) => {
  const text = renderExplain('hq', {
    ...base, phase: 'quick', role: 'initiator', reason: 'no-proposal-chosen',
    exchange: [{ from: 'local', message: 'QM1' }, { from: 'remote', message: 'INFORMATIONAL', notify: 'NO-PROPOSAL-CHOSEN' }],
    offered: ['aes128gcm16/ecp256'], acceptable: ['aes128gcm16/ecp256'], configField: 'filter-actions.secure.security-methods',
  });
  t.match(text, 'quick mode (phase 2), we were the initiator');
  t.match(text, 'The peer refused all our quick mode proposals (NO-PROPOSAL-CHOSEN).');
  // As initiator both lists are ours: they always "match", which says nothing about the peer.
  t.notMatch(text, 'Both sides list', 'no false claim that the peer lists ours');
  t.match(text, 'Its configuration must list at least one of: aes128gcm16/ecp256');
  t.match(text, 'A quick mode is also refused when the PFS settings differ: we use no PFS');
});

t.test('authentication failure never prints a key and points at the secrets file', async (t) => {
  const text = renderExplain('hq', {
    ...base, phase: 'main', role: 'initiator', reason: 'authentication-failed', expectedId: 'hq.example.net',
    exchange: [{ from: 'local', message: 'MM5 (ID, HASH_I)' }, { from: 'remote', message: 'INFORMATIONAL', notify: 'AUTHENTICATION-FAILED' }],
  });
  t.match(text, 'psk { hq.example.net = "..." }');
  t.match(text, 'Authentication failed');
});

t.test('identity, selectors, PFS and timeout', async (t) => {
  t.match(
    renderExplain('hq', {
      ...base,
      phase: 'main',
      role: 'responder',
      reason: 'id-mismatch',
      receivedId: 'gw.hq.lab',
      expectedId: 'hq.example.net',
    }),
    'peers.hq.remote-id = gw.hq.lab',
  );
  const ts = renderExplain('hq', {
    ...base, phase: 'quick', role: 'responder', reason: 'ts-mismatch',
    offeredSelectors: [{ local: '10.0.0.0/16', remote: '10.1.0.0/23' }], acceptableSelectors: [{ local: '10.1.0.0/24', remote: '10.0.0.0/16' }],
  });
  t.match(ts, 'The traffic the peer wants to protect (10.0.0.0/16 <-> 10.1.0.0/23)');
  t.match(ts, 'source = 10.1.0.0/23');
  t.match(ts, 'destination = 10.0.0.0/16');
  const pfs = renderExplain('hq', {
    ...base,
    phase: 'quick',
    role: 'responder',
    reason: 'pfs-mismatch',
    offeredPfs: null,
    requiredPfs: 'ecp256',
    configField: 'filter-actions.secure.pfs',
  });
  t.match(pfs, 'The peer does not use PFS; we require ecp256.');
  t.match(pfs, 'filter-actions.secure.pfs = none');
  t.match(pfs, 'better: enable PFS on the peer');
  const to = renderExplain('hq', { ...base, phase: 'main', role: 'initiator', reason: 'timeout', waitedSeconds: 3, remoteAddress: '198.51.100.2',
    exchange: [{ from: 'local', message: 'MM1' }, { from: 'local', message: 'MM1 (retransmit)' }] });
  t.match(to, 'No reply from 198.51.100.2 within 3 s.');
  t.notMatch(to, 'Acceptable to us', 'a timeout lists no proposals (they are not what failed)');
  t.match(to, 'UDP 500 and 4500');
});

t.test('no record', async (t) => {
  t.equal(renderExplain('hq', null), 'No failed negotiation with hq on record.');
});

t.test('a timeout is diagnosed by where the peer went silent', async (t) => {
  const first = renderExplain('hq', RECORDS['timeout, first message']);
  t.match(first, 'Why: The peer did not answer at all.');
  t.match(first, 'Nothing came back from 198.51.100.2 to our first message, MM1 (our proposals), within 126 s.');
  t.match(first, 'UDP 500 and 4500');
  t.match(first, 'Unanswered: MM1 (our proposals); the peer answered nothing.');

  const auth = renderExplain('hq', RECORDS['timeout, authentication']);
  t.match(auth, 'Why: The peer went silent after our authentication message: most likely the pre-shared keys differ.');
  t.match(auth, 'Unanswered: MM5 (our identity and authentication, encrypted); last answered: MM3 (answered by MM4).');
  t.match(auth, 'otherwise the peer expects another identity');
  t.match(auth, 'secrets file, psk { hq.example.net = ... }');
  t.match(auth, 'peers.hq.remote-id = hq.example.net');
  t.match(auth, 'peers.hq.local-id = branch.example.net');
  t.notMatch(auth, 'UDP 500', 'MM2 and MM4 proved the path: no advice about ports');
  t.notMatch(auth, 'peers.hq.proposals', 'nor about proposals');

  const quick = renderExplain('hq', RECORDS['timeout, quick mode']);
  t.match(quick, 'Why: The peer ignored our quick mode: its policy refuses the selectors, PFS or proposals.');
  t.match(quick, 'Main mode completed, but the peer never answered our quick mode, QM1,');
  t.match(quick, 'filter-lists.lan: source = 198.18.1.0/24, destination = 198.18.2.0/24');
  t.match(quick, 'filter-actions.secure.pfs = modp2048');
  t.match(quick, 'filter-actions.secure.security-methods = aes128gcm16');

  const dpd = renderExplain('hq', RECORDS['timeout, established (DPD)']);
  t.match(dpd, 'Why: The peer stopped answering on an established tunnel (dead peer detection).');
  t.match(dpd, 'R-U-THERE');
});

t.test('every kind of record renders, directly and after the JSON round trip of the control socket', async (t) => {
  const redactor = new Redactor();
  for (const [name, r] of Object.entries(RECORDS)) {
    const direct = renderExplain('hq', r);
    t.match(direct, /^Last failed negotiation with hq: /, name);
    t.match(direct, 'To make them agree:', name);
    // What the daemon stores (redacted) and the socket carries (JSON).
    const wire: unknown = JSON.parse(JSON.stringify(redactor.redact(r)));
    t.equal(renderExplain('hq', wire), direct, `${name}: the same after the round trip`);
  }
});

t.test('explain never throws, whatever shape a field arrives in', async (t) => {
  const junk: unknown[] = ['<cycle>', 42, null, true, {}, [1, {}, null], [{ from: 7 }], { length: 3 }, undefined, Number.NaN];
  let rendered = 0;
  const failures: string[] = [];
  for (const r of Object.values(RECORDS)) {
    for (const key of [...Object.keys(r), 'silentAt', 'configLines', 'offeredSelectors', 'waitedSeconds', 'exchange']) {
      for (const j of junk) {
        const bent = { ...r, [key]: j };
        try {
          const text = renderExplain('hq', bent);
          if (!/^Last failed negotiation with /.test(text)) failures.push(`${key} = ${String(j)}: ${text.slice(0, 80)}`);
        } catch (e) {
          failures.push(`${key} = ${String(j)}: threw ${String(e)}`);
        }
        rendered++;
      }
    }
  }
  for (const whole of [undefined, 'text', 3, [], [RECORDS['auth failed']]]) {
    t.doesNotThrow(() => renderExplain('hq', whole), `record = ${JSON.stringify(whole)}`);
  }
  t.same(failures, [], `${rendered} bent records rendered`);
  t.ok(rendered > 1000);
});
