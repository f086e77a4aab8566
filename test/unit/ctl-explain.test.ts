import t from 'tap';
import { renderExplain } from '../../firmware/src/ctl/render-explain.ts';
import type { FailureRecord } from '../../firmware/src/log/failure-record.ts';

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
  t.match(text, 'Both sides list aes128gcm16/ecp256');
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
  t.match(renderExplain('hq', { ...base, phase: 'main', role: 'responder', reason: 'id-mismatch', receivedId: 'gw.hq.lab', expectedId: 'hq.example.net' }),
    'peers.hq.remote-id = gw.hq.lab');
  const ts = renderExplain('hq', {
    ...base, phase: 'quick', role: 'responder', reason: 'ts-mismatch',
    offeredSelectors: [{ local: '10.0.0.0/16', remote: '10.1.0.0/23' }], acceptableSelectors: [{ local: '10.1.0.0/24', remote: '10.0.0.0/16' }],
  });
  t.match(ts, 'The traffic the peer wants to protect (10.0.0.0/16 <-> 10.1.0.0/23)');
  t.match(ts, 'source = 10.1.0.0/23');
  t.match(ts, 'destination = 10.0.0.0/16');
  const pfs = renderExplain('hq', { ...base, phase: 'quick', role: 'responder', reason: 'pfs-mismatch', offeredPfs: null, requiredPfs: 'ecp256', configField: 'filter-actions.secure.pfs' });
  t.match(pfs, 'The peer does not use PFS; we require ecp256.');
  t.match(pfs, 'filter-actions.secure.pfs = none');
  t.match(pfs, 'better: enable PFS on the peer');
  const to = renderExplain('hq', { ...base, phase: 'main', role: 'initiator', reason: 'timeout', waitedSeconds: 3, remoteAddress: '198.51.100.2',
    exchange: [{ from: 'local', message: 'MM1' }, { from: 'local', message: 'MM1 (retransmit)' }] });
  t.match(to, 'No reply from 198.51.100.2 within 3 s.');
  t.match(to, 'UDP 500 and 4500');
});

t.test('no record', async (t) => {
  t.equal(renderExplain('hq', null), 'No failed negotiation with hq on record.');
});
