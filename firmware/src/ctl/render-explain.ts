/**
 * `sitelinkctl explain <peer>`: the last failed negotiation in plain words — who said
 * what, what was offered against what we accept, and the config change that would make
 * the two sides agree. Input: log/failure-record.ts (filled by the IKE code).
 *
 * The record arrives as JSON over the control socket, possibly from a daemon of
 * another version or mangled on the way, so it is read field by field (recordOf):
 * a field of the wrong shape is treated as absent and explain never throws.
 */
import type { ExchangeStep, FailureReason, FailureRecord, SilentStage } from '../log/failure-record.ts';

const REASONS: readonly FailureReason[] = [
  'no-proposal-chosen',
  'authentication-failed',
  'id-mismatch',
  'ts-mismatch',
  'pfs-mismatch',
  'dh-group-mismatch',
  'timeout',
  'invalid-message',
  'other',
];
const STAGES: readonly SilentStage[] = ['first-message', 'authentication', 'child-sa', 'established'];

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function oneOf<T extends string>(v: unknown, values: readonly T[]): T | undefined {
  return values.find((x) => x === v);
}

function selectors(v: unknown): { local: string; remote: string }[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.filter(isObj).map((s) => ({ local: str(s['local']) ?? '?', remote: str(s['remote']) ?? '?' }));
}

function steps(v: unknown): ExchangeStep[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObj).map((s) => {
    const notify = str(s['notify']);
    return { from: s['from'] === 'local' ? 'local' : 'remote', message: str(s['message']) ?? '?', ...(notify !== undefined ? { notify } : {}) };
  });
}

/** A record as received (JSON), with every field checked; null when `v` is none. */
export function recordOf(peer: string, v: unknown): FailureRecord | null {
  if (!isObj(v)) return null;
  const r: FailureRecord = {
    peer: str(v['peer']) ?? peer,
    time: str(v['time']) ?? '(unknown time)',
    phase: v['phase'] === 'quick' ? 'quick' : 'main',
    role: v['role'] === 'responder' ? 'responder' : 'initiator',
    reason: oneOf(v['reason'], REASONS) ?? 'other',
    exchange: steps(v['exchange']),
    offered: strs(v['offered']),
    acceptable: strs(v['acceptable']),
  };
  if (v['version'] === 1 || v['version'] === 2) r.version = v['version'];
  const texts = ['configField', 'receivedId', 'expectedId', 'remoteAddress', 'detail', 'unanswered', 'lastAnswered', 'notify', 'askedGroup'] as const;
  for (const k of texts) {
    const s = str(v[k]);
    if (s !== undefined) r[k] = s;
  }
  for (const k of ['offeredPfs', 'requiredPfs'] as const) {
    const s = v[k];
    if (typeof s === 'string' || s === null) r[k] = s;
  }
  const o = selectors(v['offeredSelectors']);
  if (o) r.offeredSelectors = o;
  const a = selectors(v['acceptableSelectors']);
  if (a) r.acceptableSelectors = a;
  if (typeof v['waitedSeconds'] === 'number' && Number.isFinite(v['waitedSeconds'])) r.waitedSeconds = v['waitedSeconds'];
  const stage = oneOf(v['silentAt'], STAGES);
  if (stage) r.silentAt = stage;
  if (Array.isArray(v['configLines'])) r.configLines = strs(v['configLines']);
  if (Array.isArray(v['configuredGroups'])) r.configuredGroups = strs(v['configuredGroups']);
  return r;
}

/** Main mode proposals are enc-integ-group; quick mode "esp[/group]". */
function isWeak(p: string): boolean {
  return /(^|[-/])(des|md5|modp768)($|[-/])/i.test(p);
}

function list(ps: readonly string[]): string {
  return ps.length === 0 ? '(none)' : ps.join(', ');
}

function who(from: 'local' | 'remote', peer: string): string {
  return from === 'local' ? 'we' : peer;
}

function phaseName(r: FailureRecord): string {
  if (r.version === 2) return r.phase === 'main' ? 'IKEv2 IKE SA (IKE_SA_INIT/IKE_AUTH)' : 'IKEv2 child SA';
  return r.phase === 'main' ? 'main mode (phase 1)' : 'quick mode (phase 2)';
}

/** "main mode" / "quick mode", or their IKEv2 counterparts. */
function phaseWord(r: FailureRecord): string {
  if (r.version === 2) return r.phase === 'main' ? 'IKE SA' : 'child SA (ESP)';
  return r.phase === 'main' ? 'main mode' : 'quick mode';
}

/** The notify as the record names it, e.g. " (TS_UNACCEPTABLE)"; IKEv1 spells NO-PROPOSAL-CHOSEN. */
function notified(r: FailureRecord, v1: string): string {
  if (r.notify) return ` (${r.notify})`;
  return r.version === 2 ? '' : ` (${v1})`;
}

function selectorPairs(ss: readonly { local: string; remote: string }[] | undefined, none: string): string {
  return (ss ?? []).map((s) => `${s.local} <-> ${s.remote}`).join(', ') || none;
}

/** The config field that holds the proposals for this phase. */
function proposalField(r: FailureRecord): string {
  if (r.configField) return r.configField;
  return r.phase === 'main' ? `peers.${r.peer}.proposals` : 'filter-actions.<action>.security-methods';
}

function waited(r: FailureRecord): string {
  return r.waitedSeconds !== undefined ? ` within ${r.waitedSeconds} s` : '';
}

function answered(r: FailureRecord): string {
  return r.lastAnswered ? `The peer did answer earlier messages (the last: ${r.lastAnswered}).` : '';
}

/** A timeout, by where the peer went silent. */
function silence(r: FailureRecord): string[] {
  const unanswered = r.unanswered ?? 'our last message';
  switch (r.silentAt) {
    case 'first-message':
      return [
        `Nothing came back from ${r.remoteAddress ?? 'the peer'} to our first message, ${unanswered},${waited(r)}.`,
        `Check peers.${r.peer}.remote, that UDP 500 and 4500 reach the peer ` +
          `(firewalls, NAT), and that the peer is running and has a connection for us.`,
      ];
    case 'authentication':
      return [
        `The peer answered until our encrypted identity/authentication message, ${unanswered}, then went silent${waited(r)}.`,
        answered(r),
        'The address and ports work. Peers drop a message they cannot decrypt or verify without a word, so most likely',
        'the pre-shared keys differ; otherwise the peer expects another identity from us (or sends another than we expect).',
        'Compare with the peer: the same key for our identity, its remote identity = our local-id, and its own identity = our remote-id.',
        // RFC 7296 §2.15: an IKEv2 responder answers a bad AUTH with AUTHENTICATION_FAILED.
        unanswered.startsWith('IKE_AUTH')
          ? 'IKEv2 peers mostly answer a wrong key; silence can also mean our IKE_AUTH was lost as IP fragments (gateway.fragmentation).'
          : '',
      ].filter((l) => l !== '');
    case 'child-sa':
      return [
        `Main mode completed, but the peer never answered our quick mode, ${unanswered},${waited(r)}.`,
        answered(r),
        "The peer's policy refused it without telling us: its subnets (traffic selectors), its PFS setting or its",
        'ESP proposals differ from ours. Compare the filter and the action below with the peer\'s connection.',
      ].filter((l) => l !== '');
    case 'established':
      return [
        `The tunnel was up, then the peer stopped answering dead peer detection, ${unanswered},${waited(r)}.`,
        'It went down or restarted, or the path to it broke. Check that the peer runs and reaches us on UDP 500/4500;',
        `with dpd-action = restart sitelinkd negotiates again on its own.`,
      ];
    case undefined:
      return [
        `No reply from ${r.remoteAddress ?? 'the peer'}${r.unanswered ? ` to ${r.unanswered}` : ''}${waited(r)}.`,
        answered(r),
        `Check peers.${r.peer}.remote, that UDP 500 and 4500 reach the peer (firewalls, NAT), and that the peer is running.`,
      ].filter((l) => l !== '');
  }
}

function suggestion(r: FailureRecord): string[] {
  const field = proposalField(r);
  switch (r.reason) {
    case 'no-proposal-chosen': {
      // As initiator both lists are ours: only a responder sees the peer's offer.
      const common = r.role === 'responder' ? r.offered.filter((p) => r.acceptable.includes(p)) : [];
      if (common.length > 0) {
        return [`Both sides list ${common[0]}, so the proposals themselves match; check lifetimes and the PFS group on both sides.`];
      }
      if (r.role === 'responder') {
        // We know exactly what the peer wants: its offers, best first.
        const strong = r.offered.filter((p) => !isWeak(p));
        if (strong.length > 0) {
          return [`Add one of the peer's proposals to ours, for example:`, `    ${field} = ${list([...r.acceptable, strong[0] ?? ''])}`];
        }
        return [
          `Every proposal the peer offers is weak (${list(r.offered)}).`,
          `Better: configure the peer with one of ours (${list(r.acceptable)}).`,
          `Only if that is impossible: add ${r.offered[0] ?? ''} to ${field} and set ` +
            `allow-weak = yes for this ${r.phase === 'main' ? 'peer' : 'filter action'}.`,
        ];
      }
      const lines = [
        `The peer accepted none of our proposals. Its configuration must list at ` +
          `least one of: ${list(r.acceptable.length ? r.acceptable : r.offered)},`,
        `or add a proposal the peer allows to ${field} (the peer's log names them).`,
      ];
      if (r.phase === 'quick')
        lines.push(
          `A ${r.version === 2 ? 'CREATE_CHILD_SA' : 'quick mode'} is also refused when the PFS settings differ: we ` +
            `${r.offeredPfs ? `use PFS ${r.offeredPfs}` : 'use no PFS'} (the action's pfs line).`,
        );
      return lines;
    }
    case 'authentication-failed':
      return [
        'The pre-shared keys (or certificates) differ. Set the same PSK on both sides:',
        `    in the secrets file: psk { ${r.expectedId ?? r.peer} = "..." }   (the same value as on the peer)`,
        'A wrong identity can also look like this: compare local-id/remote-id on both sides.',
      ];
    case 'id-mismatch':
      if (r.receivedId === undefined) {
        // The peer refused ours (INVALID-ID-INFORMATION in answer to our MM5).
        return [
          'The peer does not accept the identity we authenticated with. Set our identity to the one its configuration',
          `expects (peers.${r.peer}.local-id), or add ours to the peer; check the pre-shared key entry for it there too.`,
        ];
      }
      return [
        `The peer identified itself as "${r.receivedId ?? '?'}" but we expect "${r.expectedId ?? '?'}". If the peer is right, set:`,
        `    peers.${r.peer}.remote-id = ${r.receivedId ?? '?'}`,
      ];
    case 'ts-mismatch': {
      const o = r.offeredSelectors ?? [];
      const first = o[0];
      if (r.role === 'initiator') {
        return [
          `The peer has no tunnel for the traffic we asked for (${o.map((s) => `${s.local} <-> ${s.remote}`).join(', ') || '?'}).`,
          r.version === 2
            ? "Make our filter's subnets (our TSi/TSr) and the peer's local/remote subnets match, or let the peer's cover ours: " +
              'an IKEv2 responder may narrow a wider request (RFC 7296 §2.9), but not widen a narrower one.'
            : "Make our filter's subnets and the peer's match exactly (or enable default-response there).",
        ];
      }
      const lines = [
        `The traffic the peer wants to protect (${o.map((s) => `${s.local} <-> ${s.remote}`).join(', ') || '?'})`,
        `is not covered by our filters (${(r.acceptableSelectors ?? []).map((s) => `${s.local} <-> ${s.remote}`).join(', ') || 'none'}).`,
      ];
      if (first) {
        // Their local is our remote and vice versa.
        lines.push('To agree, make a negotiate filter match it, e.g.:', `    source = ${first.remote}`, `    destination = ${first.local}`);
      }
      return lines;
    }
    case 'dh-group-mismatch': {
      const pfs = r.phase === 'quick';
      const field = r.configField ?? (pfs ? 'filter-actions.<action>.pfs' : `peers.${r.peer}.proposals`);
      const asked = r.askedGroup ?? '?';
      return pfs
        ? [
            `To agree, use the peer's group for PFS here:`,
            `    ${field} = ${asked}`,
            `or set the peer's PFS group to ${list(r.configuredGroups ?? [])}.`,
          ]
        : [
            `Add a proposal with ${asked} to ${field}, for example:`,
            `    ${field} = ${list([...r.acceptable, ...(r.acceptable[0] ? [r.acceptable[0].replace(/[^-]+$/, asked)] : [])])}`,
            `or give the peer a proposal with one of our groups (${list(r.configuredGroups ?? [])}).`,
          ];
    }
    case 'pfs-mismatch':
      return [
        `The peer ${r.offeredPfs ? `uses PFS group ${r.offeredPfs}` : 'does not use PFS'}; we require ${r.requiredPfs ?? 'no PFS'}. To agree, set:`,
        `    ${r.configField ?? 'filter-actions.<action>.pfs'} = ${r.offeredPfs ?? 'none'}`,
        r.offeredPfs ? '' : '(better: enable PFS on the peer instead of disabling it here)',
      ].filter((l) => l !== '');
    case 'timeout':
      return silence(r);
    case 'invalid-message':
      if (r.notify === 'INVALID_SYNTAX' && r.role === 'initiator')
        return [
          'The peer could not parse a message of ours. Most often it does not support an extension we used: check the lines',
          "below against the peer's version and settings; its log names the payload it refused.",
        ];
      return ['The peer sent a message we could not process; see the negotiation log (sitelinkctl log) for the payload details.'];
    case 'other':
      return ['See the negotiation log (sitelinkctl log) for details.'];
  }
}

function why(r: FailureRecord): string {
  switch (r.reason) {
    case 'no-proposal-chosen':
      return r.role === 'responder'
        ? `None of the peer's ${phaseWord(r)} proposals is acceptable to us${r.notify ? `; we answered ${r.notify}` : ''}.`
        : `The peer refused all our ${phaseWord(r)} proposals${notified(r, 'NO-PROPOSAL-CHOSEN')}.`;
    case 'authentication-failed':
      if (r.version === 2)
        return r.role === 'initiator'
          ? `The peer refused our authentication${notified(r, '')}: its key, certificate or expected identity differs from ours.`
          : `The peer's authentication did not verify with our key or certificate${r.notify ? `; we answered ${r.notify}` : ''}.`;
      return 'Authentication failed: the hash/signature the peer computed did not match ours.';
    case 'id-mismatch':
      return r.receivedId === undefined ? 'The peer refused our identity.' : 'The peer authenticated with an identity we do not expect.';
    case 'ts-mismatch':
      if (r.version === 2)
        return r.role === 'initiator'
          ? `The peer has no child SA policy for our traffic selectors (TSi/TSr)${notified(r, '')}.`
          : `The peer's traffic selectors (TSi/TSr) match none of our filters${r.notify ? `; we answered ${r.notify}` : ''}.`;
      return 'The traffic selectors (proxy identities) do not match.';
    case 'pfs-mismatch':
      return 'Session key PFS settings differ.';
    case 'dh-group-mismatch':
      return (
        `The peer wants Diffie-Hellman group ${r.askedGroup ?? '?'} for the ${r.phase === 'main' ? 'IKE SA key exchange' : 'child SA (PFS)'}` +
        `${notified(r, '')}; we have ${list(r.configuredGroups ?? [])}.`
      );
    case 'timeout':
      switch (r.silentAt) {
        case 'first-message':
          return 'The peer did not answer at all.';
        case 'authentication':
          return 'The peer went silent after our authentication message: most likely the pre-shared keys differ.';
        case 'child-sa':
          return 'The peer ignored our quick mode: its policy refuses the selectors, PFS or proposals.';
        case 'established':
          return 'The peer stopped answering on an established tunnel (dead peer detection).';
        case undefined:
          return 'The peer did not answer.';
      }
      break;
    case 'invalid-message':
      if (r.notify === 'INVALID_SYNTAX')
        return r.role === 'initiator'
          ? 'The peer could not parse our message (INVALID_SYNTAX).'
          : 'A message of the peer was malformed; we answered INVALID_SYNTAX.';
      return 'A message was malformed or unexpected.';
    case 'other':
      return r.detail ?? 'The negotiation failed.';
  }
  return 'The negotiation failed.';
}

/** Plain words for the record `v` (as received: anything, checked here). Never throws. */
export function renderExplain(peer: string, v: unknown): string {
  const r = recordOf(peer, v);
  if (r === null) return `No failed negotiation with ${peer} on record.`;
  const lines: string[] = [];
  lines.push(`Last failed negotiation with ${r.peer}: ${r.time}, ${phaseName(r)}, we were the ${r.role}.`);
  lines.push('');
  lines.push('What happened:');
  r.exchange.forEach((s, i) => {
    const to = s.from === 'local' ? r.peer : 'us';
    lines.push(`  ${i + 1}. ${who(s.from, r.peer)} -> ${to}: ${s.message}${s.notify ? ` [${s.notify}]` : ''}`);
  });
  if (r.exchange.length === 0) lines.push('  (no messages recorded)');
  if (r.unanswered)
    lines.push(`  Unanswered: ${r.unanswered}${r.lastAnswered ? `; last answered: ${r.lastAnswered}` : '; the peer answered nothing'}.`);
  lines.push('');
  lines.push(`Why: ${why(r)}`);
  if (r.detail && r.reason !== 'other') lines.push(`     ${r.detail}`);
  // Proposals only where they are what failed: beside a timeout or an authentication
  // failure they would point at the wrong line (issue 15).
  const aboutProposals = !['timeout', 'authentication-failed', 'id-mismatch', 'ts-mismatch'].includes(r.reason);
  if (aboutProposals && (r.offered.length > 0 || r.acceptable.length > 0)) {
    lines.push('');
    lines.push(`Offered by ${r.role === 'initiator' ? 'us' : r.peer}: ${list(r.offered)}`);
    lines.push(`Acceptable to us (${proposalField(r)}): ${list(r.acceptable)}`);
  }
  if (r.reason === 'dh-group-mismatch') {
    lines.push('');
    lines.push(`Group asked for by ${r.peer}: ${r.askedGroup ?? '?'}`);
    lines.push(`Groups we have (${proposalField(r)}): ${list(r.configuredGroups ?? [])}`);
  }
  if (r.reason === 'ts-mismatch' && r.version === 2) {
    lines.push('');
    const asker = r.role === 'initiator' ? 'we asked for' : `${r.peer} asked for`;
    lines.push(`Selectors ${asker} (TSi <-> TSr): ${selectorPairs(r.offeredSelectors, '?')}`);
    lines.push(`Our filters (local <-> remote): ${selectorPairs(r.acceptableSelectors, 'none')}`);
  }
  lines.push('');
  lines.push('To make them agree:');
  for (const s of suggestion(r)) lines.push(`  ${s}`);
  if (r.configLines && r.configLines.length > 0) {
    lines.push('');
    lines.push('Config lines to check (most likely first):');
    for (const l of r.configLines) lines.push(`    ${l}`);
  }
  return lines.join('\n');
}
