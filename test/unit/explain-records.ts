// One failure record of each kind `sitelinkctl explain` renders (every reason, both
// roles, both phases, every place a peer can go silent), for the renderer tests and
// the control socket round trip. Not a test file itself.

import type { FailureRecord } from '../../firmware/src/log/failure-record.ts';

const base = { peer: 'hq', time: '2026-11-22T20:00:00.000Z', exchange: [], offered: [], acceptable: [] };
/** The same array under two keys, as the IKE code records a quick mode (issue 15). */
const ours = ['aes128gcm16/modp2048'];

export const RECORDS: Record<string, FailureRecord> = {
  'main npc responder': { ...base, phase: 'main', role: 'responder', reason: 'no-proposal-chosen', offered: ['aes128-sha1-modp1024'], acceptable: ['aes256-sha256-modp2048'], configField: 'peers.hq.proposals' },
  'main npc initiator': { ...base, phase: 'main', role: 'initiator', reason: 'no-proposal-chosen', offered: ['aes256-sha256-modp2048'], acceptable: ['aes256-sha256-modp2048'] },
  'quick npc initiator (shared array)': {
    ...base, phase: 'quick', role: 'initiator', reason: 'no-proposal-chosen', offered: ours, acceptable: ours, offeredPfs: 'modp2048',
    configField: 'filter-actions.secure.security-methods', detail: 'peer sent NO_PROPOSAL_CHOSEN: it accepts none of our ESP methods',
    configLines: ['filter-lists.lan: source = 198.18.1.0/24, destination = 198.18.2.0/24', 'filter-actions.secure.security-methods = aes128gcm16', 'filter-actions.secure.pfs = modp2048'],
  },
  'quick npc responder': { ...base, phase: 'quick', role: 'responder', reason: 'no-proposal-chosen', offered: ['aes256gcm16', '3des-md5'], acceptable: ['aes128gcm16'] },
  'auth failed': { ...base, phase: 'main', role: 'initiator', reason: 'authentication-failed', expectedId: 'hq.example.net', exchange: [{ from: 'local', message: 'MM5' }, { from: 'remote', message: 'INFORMATIONAL', notify: 'AUTHENTICATION-FAILED' }] },
  'our identity refused': { ...base, phase: 'main', role: 'initiator', reason: 'id-mismatch', expectedId: 'hq.example.net', configField: 'peers.hq.remote-id', configLines: ['peers.hq.local-id = branch.example.net'] },
  'id mismatch': { ...base, phase: 'main', role: 'responder', reason: 'id-mismatch', receivedId: 'gw.hq.lab', expectedId: 'hq.example.net' },
  'ts mismatch responder': { ...base, phase: 'quick', role: 'responder', reason: 'ts-mismatch', offeredSelectors: [{ local: '10.0.0.0/16', remote: '10.1.0.0/23' }], acceptableSelectors: [{ local: '10.1.0.0/24', remote: '10.0.0.0/16' }] },
  'ts mismatch initiator': { ...base, phase: 'quick', role: 'initiator', reason: 'ts-mismatch', offeredSelectors: [{ local: '10.1.0.0/24', remote: '10.0.0.0/16' }] },
  'pfs mismatch': { ...base, phase: 'quick', role: 'responder', reason: 'pfs-mismatch', offeredPfs: null, requiredPfs: 'ecp256', configField: 'filter-actions.secure.pfs' },
  'timeout, no stage (older daemon)': { ...base, phase: 'main', role: 'initiator', reason: 'timeout', waitedSeconds: 3, remoteAddress: '198.51.100.2' },
  'timeout, first message': {
    ...base, phase: 'main', role: 'initiator', reason: 'timeout', waitedSeconds: 126, remoteAddress: '198.51.100.2', silentAt: 'first-message', unanswered: 'MM1 (our proposals)',
    configLines: ['peers.hq.remote = 198.51.100.2'],
  },
  'timeout, authentication': {
    ...base, phase: 'main', role: 'initiator', reason: 'timeout', waitedSeconds: 127, remoteAddress: '198.51.100.2', silentAt: 'authentication',
    unanswered: 'MM5 (our identity and authentication, encrypted)', lastAnswered: 'MM3 (answered by MM4)', offered: ['aes128-sha256-modp2048'], acceptable: ['aes128-sha256-modp2048'],
    configLines: ['secrets file, psk { hq.example.net = ... } (the same key as on the peer)', 'peers.hq.remote-id = hq.example.net', 'peers.hq.local-id = branch.example.net'],
  },
  'timeout, quick mode': {
    ...base, phase: 'quick', role: 'initiator', reason: 'timeout', waitedSeconds: 126, silentAt: 'child-sa', unanswered: 'QM1', lastAnswered: 'main mode (the ISAKMP SA is up)', offered: ours, acceptable: ours,
    configLines: ['filter-lists.lan: source = 198.18.1.0/24, destination = 198.18.2.0/24', 'filter-actions.secure.security-methods = aes128gcm16', 'filter-actions.secure.pfs = modp2048'],
  },
  'timeout, established (DPD)': { ...base, phase: 'main', role: 'initiator', reason: 'timeout', waitedSeconds: 150, silentAt: 'established', unanswered: 'R-U-THERE (dead peer detection)', configLines: ['peers.hq.dpd-timeout = 150s'] },
  'invalid message': { ...base, phase: 'main', role: 'responder', reason: 'invalid-message', detail: 'MM3 lacks KE' },
  'other': { ...base, phase: 'quick', role: 'initiator', reason: 'other', detail: 'peer sent INVALID_SPI' },
};
