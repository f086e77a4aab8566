// `sitelinkctl explain` for IKEv2 failures (issue 11): each error notify that ends
// a negotiation leaves a record saying what was offered and what is acceptable, in
// config notation, and the config line to change; rendered in plain words. One test
// per notify (RFC 7296 §3.10.1), from both sides where both keep a record:
//   NO_PROPOSAL_CHOSEN (IKE SA §1.2 and child SA §1.3), TS_UNACCEPTABLE (§2.9),
//   INVALID_KE_PAYLOAD (§1.2 for the IKE SA, §1.3 for PFS in CREATE_CHILD_SA),
//   AUTHENTICATION_FAILED (§2.15), INVALID_SYNTAX (§3.10.1).
// The offer names themselves (a peer's many transforms) are tested at the end.

import t from 'tap';
import { Ikev2Node } from '../../firmware/src/ike/v2/exchange/node.ts';
import type { FailureDetail } from '../../firmware/src/ike/exchange/types.ts';
import { renderExplain } from '../../firmware/src/ctl/render-explain.ts';
import { failureRecord } from '../../firmware/src/daemon/failure-records.ts';
import { encodeMessage } from '../../firmware/src/ike/v2/wire/message.ts';
import { groupData, notify } from '../../firmware/src/ike/v2/wire/notify.ts';
import { NotifyType } from '../../firmware/src/ike/v2/wire/notify-types.ts';
import { EncrId, ExchangeType, HeaderFlag, IntegId, PrfId, ProtocolId, TransformType, TsType } from '../../firmware/src/ike/v2/wire/constants.ts';
import {
  childRefusal,
  espProposalNames,
  ikeProposalNames,
  MAX_OFFER_NAMES,
  selectorText,
} from '../../firmware/src/ike/v2/exchange/failure-details.ts';
import { Harness, type HarnessOptions } from './ike-exchange-harness.ts';

const v2 = (o: HarnessOptions = {}): Harness<Ikev2Node> => new Harness<Ikev2Node>(o, (env, peers, options) => new Ikev2Node(env, peers, options));

const text = (f: FailureDetail | undefined, phase: 'main' | 'quick'): string =>
  renderExplain('gwB', failureRecord('gwB', phase, f!, [], new Date(0)));

/** B answers A's first IKE_SA_INIT with `payload` instead of its own response. */
function answerInitWith(h: Harness<Ikev2Node>, payload: ReturnType<typeof notify>): void {
  let done = false;
  h.filter = (d) => {
    if (d.from === 'A' && !done) {
      done = true;
      const spiI = d.data.subarray(0, 8);
      const reply = encodeMessage(
        { spiI, spiR: Buffer.alloc(8), exchange: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.RESPONSE, messageId: 0 },
        [payload],
      );
      h.apply('A', h.a.receive(reply, { address: '198.51.100.2', port: 500 }, 500));
      return null;
    }
    return d.data;
  };
}

t.test('NO_PROPOSAL_CHOSEN for the IKE SA: both records name the proposals and peers.<name>.proposals', async (t) => {
  const h = v2({ peerB: { ikeMethods: [{ encryption: 'aes256', integrity: 'sha512', dhGroup: 20 }] } });
  h.bringUp();
  const b = h.failures.B[0];
  t.equal(b?.code, 'no-proposal-chosen');
  t.equal(b?.notify, 'NO_PROPOSAL_CHOSEN');
  t.equal(b?.version, 2);
  t.equal(b?.role, 'responder');
  t.same(b?.offered, ['aes256-sha256-modp2048', 'aes128-sha1-modp2048'], "B's record: what A offered, in config notation");
  t.same(b?.acceptable, ['aes256-sha512-ecp384'], 'and what B accepts');
  t.equal(b?.configField, 'peers.gwA.proposals');
  const tb = renderExplain('gwA', failureRecord('gwA', 'main', b!, [], new Date(0)));
  t.match(tb, 'IKEv2 IKE SA (IKE_SA_INIT/IKE_AUTH)');
  t.match(tb, "None of the peer's IKE SA proposals is acceptable to us; we answered NO_PROPOSAL_CHOSEN.");
  t.match(tb, 'Offered by gwA: aes256-sha256-modp2048, aes128-sha1-modp2048');
  t.match(tb, 'Acceptable to us (peers.gwA.proposals): aes256-sha512-ecp384');
  t.match(tb, 'peers.gwA.proposals = aes256-sha512-ecp384, aes256-sha256-modp2048', 'the line to change, with the peer\'s proposal added');

  const a = h.failures.A[0];
  t.equal(a?.code, 'no-proposal-chosen');
  t.equal(a?.notify, 'NO_PROPOSAL_CHOSEN');
  t.same(a?.offered, ['aes256-sha256-modp2048', 'aes128-sha1-modp2048']);
  t.same(a?.configLines, ['peers.gwB.proposals = aes256-sha256-modp2048, aes128-sha1-modp2048', 'peers.gwB.allow-weak = no']);
  const ta = text(a, 'main');
  t.match(ta, 'The peer refused all our IKE SA proposals (NO_PROPOSAL_CHOSEN).');
  t.match(ta, 'Its configuration must list at least one of: aes256-sha256-modp2048, aes128-sha1-modp2048');
});

t.test('NO_PROPOSAL_CHOSEN for the child SA in IKE_AUTH: ESP proposals and the action\'s security-methods', async (t) => {
  const h = v2({ tunnelB: { methods: [{ esp: 'aes256-sha256', lifetimeSeconds: 3600, lifetimeKilobytes: 100000 }] } });
  h.bringUp();
  const b = h.failures.B[0];
  t.equal(b?.code, 'no-proposal-chosen');
  t.equal(b?.role, 'responder');
  t.same(b?.offered, ['aes128gcm16'], "B's record: A's ESP offer");
  t.same(b?.acceptable, ['aes256-sha256']);
  t.equal(b?.configField, 'filter-actions.secure.security-methods');
  const a = h.failures.A[0];
  t.equal(a?.code, 'no-proposal-chosen');
  t.equal(a?.notify, 'NO_PROPOSAL_CHOSEN');
  t.equal(a?.configField, 'filter-actions.secure.security-methods');
  t.ok(a?.configLines?.includes('filter-actions.secure.security-methods = aes128gcm16'));
  const ta = text(a, 'quick');
  t.match(ta, 'IKEv2 child SA');
  t.match(ta, 'The peer refused all our child SA (ESP) proposals (NO_PROPOSAL_CHOSEN).');
  t.match(ta, 'filter-actions.secure.security-methods = aes128gcm16');
  const tb = renderExplain('gwA', failureRecord('gwA', 'quick', b!, [], new Date(0)));
  t.match(tb, 'filter-actions.secure.security-methods = aes256-sha256, aes128gcm16', 'B is told to add A\'s proposal');
});

t.test('TS_UNACCEPTABLE: the selectors asked for against our filters', async (t) => {
  const h = v2({ tunnelB: { local: '198.18.9.0/24' } });
  h.bringUp();
  const b = h.failures.B[0];
  t.equal(b?.code, 'ts-mismatch');
  t.equal(b?.notify, 'TS_UNACCEPTABLE');
  t.same(b?.offeredSelectors, [{ local: '198.18.1.0/24', remote: '198.18.2.0/24' }], "A's TSi and TSr");
  t.same(b?.acceptableSelectors, [{ local: '198.18.9.0/24', remote: '198.18.1.0/24' }], "B's filter");
  const tb = renderExplain('gwA', failureRecord('gwA', 'quick', b!, [], new Date(0)));
  t.match(tb, "The peer's traffic selectors (TSi/TSr) match none of our filters; we answered TS_UNACCEPTABLE.");
  t.match(tb, 'Selectors gwA asked for (TSi <-> TSr): 198.18.1.0/24 <-> 198.18.2.0/24');
  t.match(tb, 'source = 198.18.2.0/24');
  t.match(tb, 'destination = 198.18.1.0/24');
  const a = h.failures.A[0];
  t.equal(a?.code, 'ts-mismatch');
  t.equal(a?.role, 'initiator');
  t.match(a?.configLines?.[0] ?? '', /: source = 198\.18\.1\.0\/24, destination = 198\.18\.2\.0\/24$/, 'our filter');
  const ta = text(a, 'quick');
  t.match(ta, 'The peer has no child SA policy for our traffic selectors (TSi/TSr) (TS_UNACCEPTABLE).');
  t.match(ta, 'Selectors we asked for (TSi <-> TSr): 198.18.1.0/24 <-> 198.18.2.0/24');
  t.match(ta, 'may narrow a wider request');
});

t.test('INVALID_KE_PAYLOAD naming a group we do not have ends the IKE SA: the group asked vs ours', async (t) => {
  const h = v2();
  answerInitWith(h, notify(NotifyType.INVALID_KE_PAYLOAD, groupData(21)));
  h.bringUp();
  const a = h.failures.A[0];
  t.equal(a?.code, 'dh-group-mismatch');
  t.equal(a?.notify, 'INVALID_KE_PAYLOAD');
  t.equal(a?.askedGroup, 'ecp521');
  t.same(a?.configuredGroups, ['modp2048']);
  t.equal(a?.configField, 'peers.gwB.proposals');
  const ta = text(a, 'main');
  t.match(ta, 'The peer wants Diffie-Hellman group ecp521 for the IKE SA key exchange (INVALID_KE_PAYLOAD); we have modp2048.');
  t.match(ta, 'Group asked for by gwB: ecp521');
  t.match(ta, 'peers.gwB.proposals = aes256-sha256-modp2048, aes128-sha1-modp2048, aes256-sha256-ecp521');
});

t.test('PFS groups differ in CREATE_CHILD_SA: the responder records both groups, the initiator the pfs line', async (t) => {
  const h = v2({ tunnelA: { pfsGroup: 20 }, tunnelB: { pfsGroup: 14 } });
  h.bringUp();
  t.same(h.failed, { A: [], B: [] }, 'IKE_AUTH carries no KE: the first child SA comes up');
  h.apply('A', h.a.rekey('gwB', 'child'));
  h.pump();
  const b = h.failures.B[0];
  t.equal(b?.code, 'no-proposal-chosen');
  t.equal(b?.role, 'responder');
  t.equal(b?.offeredPfs, 'ecp384');
  t.equal(b?.requiredPfs, 'modp2048');
  t.same(b?.offered, ['aes128gcm16/ecp384']);
  t.same(b?.acceptable, ['aes128gcm16/modp2048']);
  const a = h.failures.A[0];
  t.equal(a?.code, 'no-proposal-chosen');
  t.equal(a?.role, 'initiator');
  t.ok(a?.configLines?.includes('filter-actions.secure.pfs = ecp384'), 'our pfs line');
  t.match(text(a, 'quick'), 'we use PFS');
});

t.test('INVALID_KE_PAYLOAD for PFS in CREATE_CHILD_SA (a peer that offers several groups): the pfs line', async (t) => {
  const h = v2({ tunnelA: { pfsGroup: 20 } });
  const peer = h.a.peers()[0]!;
  const r = childRefusal(peer, peer.tunnels[0]!, notify(NotifyType.INVALID_KE_PAYLOAD, groupData(14)), false);
  t.equal(r.code, 'dh-group-mismatch');
  const a: FailureDetail = { code: r.code, role: 'initiator', offered: [], acceptable: [], version: 2, ...r.extra };
  t.equal(a.askedGroup, 'modp2048');
  t.same(a.configuredGroups, ['ecp384']);
  t.equal(a.configField, 'filter-actions.secure.pfs');
  const ta = text(a, 'quick');
  t.match(ta, 'The peer wants Diffie-Hellman group modp2048 for the child SA (PFS) (INVALID_KE_PAYLOAD); we have ecp384.');
  t.match(ta, 'filter-actions.secure.pfs = modp2048');
});

t.test('AUTHENTICATION_FAILED: the secrets entry and the identities, both sides', async (t) => {
  const h = v2({ pskB: 'other-secret' });
  h.bringUp();
  for (const [side, f, peer] of [['A', h.failures.A[0], 'gwB'], ['B', h.failures.B[0], 'gwA']] as const) {
    t.equal(f?.code, 'authentication-failed', `${side}: authentication-failed`);
    t.equal(f?.notify, 'AUTHENTICATION_FAILED');
    t.equal(f?.configLines?.[0], `secrets file, psk { ${peer}.lab = ... } (the same key as on the peer)`);
    t.ok(f?.configLines?.includes(`peers.${peer}.remote-id = ${peer}.lab`));
  }
  const ta = text(h.failures.A[0], 'main');
  t.match(ta, 'The peer refused our authentication (AUTHENTICATION_FAILED)');
  t.match(ta, 'secrets file, psk { gwB.lab = ... }');
  t.notMatch(ta, 'Offered by', 'no proposals beside an authentication failure');
  const tb = renderExplain('gwA', failureRecord('gwA', 'main', h.failures.B[0]!, [], new Date(0)));
  t.match(tb, "The peer's authentication did not verify with our key or certificate; we answered AUTHENTICATION_FAILED.");
});

t.test('INVALID_SYNTAX from the peer: what of ours it may not parse', async (t) => {
  const h = v2();
  answerInitWith(h, notify(NotifyType.INVALID_SYNTAX));
  h.bringUp();
  const a = h.failures.A[0];
  t.equal(a?.code, 'invalid-message');
  t.equal(a?.notify, 'INVALID_SYNTAX');
  t.equal(a?.configLines?.[0], 'peers.gwB.version = 2');
  const ta = text(a, 'main');
  t.match(ta, 'Why: The peer could not parse our message (INVALID_SYNTAX).');
  t.match(ta, 'does not support an extension we used');
});

t.test('a peer offer in config notation: combinations named, the rest counted', async (t) => {
  const tr = (type: number, id: number, keyLength?: number) => ({ type, id, ...(keyLength ? { keyLength } : {}) });
  // A proposal as decoded: an IKE one carries no SPI here (IKE_SA_INIT), an ESP one 4 bytes.
  const proposal = (number: number, protocol: number, transforms: ReturnType<typeof tr>[]) =>
    ({ number, protocol, spi: Buffer.alloc(protocol === ProtocolId.IKE ? 0 : 4), transforms });
  const ike = [
    proposal(1, ProtocolId.IKE, [
      tr(TransformType.ENCR, EncrId.AES_GCM_16, 256),
      tr(TransformType.PRF, PrfId.HMAC_SHA2_384),
      tr(TransformType.DH, 20),
      tr(TransformType.DH, 31),
    ]),
    proposal(2, ProtocolId.IKE, [
      tr(TransformType.ENCR, EncrId.AES_CBC, 128),
      tr(TransformType.INTEG, IntegId.HMAC_SHA2_256_128),
      tr(TransformType.PRF, PrfId.HMAC_SHA2_256),
      tr(TransformType.DH, 14),
    ]),
  ];
  t.same(ikeProposalNames(ike), ['aes256gcm16-prfsha384-ecp384', 'aes256gcm16-prfsha384-curve25519', 'aes128-sha256-modp2048']);
  const five = [1, 2, 3, 4, 5].flatMap((i) => [tr(TransformType.ENCR, EncrId.AES_CBC, 128 + i), tr(TransformType.DH, 14 + i)]);
  const many = [{ ...ike[1]!, transforms: five }];
  const names = ikeProposalNames(many);
  t.equal(names.length, MAX_OFFER_NAMES + 1, 'capped');
  t.equal(names[MAX_OFFER_NAMES], '(13 more combinations)');
  const esp = [
    proposal(1, ProtocolId.ESP, [tr(TransformType.ENCR, EncrId.AES_GCM_16, 128), tr(TransformType.ESN, 0)]),
    proposal(2, ProtocolId.ESP, [
      tr(TransformType.ENCR, EncrId.AES_CBC, 256),
      tr(TransformType.INTEG, IntegId.HMAC_SHA2_256_128),
      tr(TransformType.DH, 19),
    ]),
  ];
  t.same(espProposalNames(esp), ['aes128gcm16', 'aes256-sha256/ecp256']);
  const ts = (start: string, end: string, protocol = 0, startPort = 0, endPort = 0xffff) => ({
    tsType: TsType.IPV4_ADDR_RANGE,
    protocol,
    startPort,
    endPort,
    startAddress: Buffer.from(start.split('.').map(Number)),
    endAddress: Buffer.from(end.split('.').map(Number)),
  });
  t.equal(selectorText(ts('198.18.1.0', '198.18.1.255')), '198.18.1.0/24');
  t.equal(selectorText(ts('198.18.1.0', '198.18.1.255', 6, 5201, 5201)), '198.18.1.0/24[tcp/5201]');
  t.equal(selectorText(ts('10.0.0.1', '10.0.0.5', 17)), '10.0.0.1-10.0.0.5[udp]');
});
