/**
 * `sitelinkctl explain <peer>`: the last failed negotiation in plain words — who said
 * what, what was offered against what we accept, and the config change that would make
 * the two sides agree. Input: log/failure-record.ts (filled by the IKE code).
 */
import type { FailureRecord } from '../log/failure-record.ts';

/** Main mode proposals are enc-integ-group; quick mode "esp[/group]". */
function isWeak(p: string): boolean {
  return /(^|[-/])(des|md5|modp768)($|[-/])/i.test(p);
}

function list(ps: string[]): string {
  return ps.length === 0 ? '(none)' : ps.join(', ');
}

function who(from: 'local' | 'remote', peer: string): string {
  return from === 'local' ? 'we' : peer;
}

function phaseName(r: FailureRecord): string {
  return r.phase === 'main' ? 'main mode (phase 1)' : 'quick mode (phase 2)';
}

/** The config field that holds the proposals for this phase. */
function proposalField(r: FailureRecord): string {
  if (r.configField) return r.configField;
  return r.phase === 'main' ? `peers.${r.peer}.proposals` : 'filter-actions.<action>.security-methods';
}

function suggestion(r: FailureRecord): string[] {
  const field = proposalField(r);
  switch (r.reason) {
    case 'no-proposal-chosen': {
      const common = r.offered.filter((p) => r.acceptable.includes(p));
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
          `Only if that is impossible: add ${r.offered[0] ?? ''} to ${field} and set allow-weak = yes for this ${r.phase === 'main' ? 'peer' : 'filter action'}.`,
        ];
      }
      return [
        `The peer accepted none of our proposals. Its configuration must list at least one of: ${list(r.acceptable.length ? r.acceptable : r.offered)},`,
        `or add a proposal the peer allows to ${field} (the peer's log names them).`,
      ];
    }
    case 'authentication-failed':
      return [
        'The pre-shared keys (or certificates) differ. Set the same PSK on both sides:',
        `    in the secrets file: psk { ${r.expectedId ?? r.peer} = "..." }   (the same value as on the peer)`,
        'A wrong identity can also look like this: compare local-id/remote-id on both sides.',
      ];
    case 'id-mismatch':
      return [
        `The peer identified itself as "${r.receivedId ?? '?'}" but we expect "${r.expectedId ?? '?'}". If the peer is right, set:`,
        `    peers.${r.peer}.remote-id = ${r.receivedId ?? '?'}`,
      ];
    case 'ts-mismatch': {
      const o = r.offeredSelectors ?? [];
      const first = o[0];
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
    case 'pfs-mismatch':
      return [
        `The peer ${r.offeredPfs ? `uses PFS group ${r.offeredPfs}` : 'does not use PFS'}; we require ${r.requiredPfs ?? 'no PFS'}. To agree, set:`,
        `    ${r.configField ?? 'filter-actions.<action>.pfs'} = ${r.offeredPfs ?? 'none'}`,
        r.offeredPfs ? '' : '(better: enable PFS on the peer instead of disabling it here)',
      ].filter((l) => l !== '');
    case 'timeout':
      return [
        `No reply from ${r.remoteAddress ?? 'the peer'}${r.waitedSeconds !== undefined ? ` within ${r.waitedSeconds} s` : ''}.`,
        `Check peers.${r.peer}.remote, that UDP 500 and 4500 reach the peer (firewalls, NAT), and that the peer is running.`,
      ];
    case 'invalid-message':
      return ['The peer sent a message we could not process; see the negotiation log (sitelinkctl log) for the payload details.'];
    case 'other':
      return ['See the negotiation log (sitelinkctl log) for details.'];
  }
}

function why(r: FailureRecord): string {
  switch (r.reason) {
    case 'no-proposal-chosen':
      return r.role === 'responder'
        ? `None of the peer's ${r.phase === 'main' ? 'main mode' : 'quick mode'} proposals is acceptable to us.`
        : `The peer refused all our ${r.phase === 'main' ? 'main mode' : 'quick mode'} proposals (NO-PROPOSAL-CHOSEN).`;
    case 'authentication-failed':
      return 'Authentication failed: the hash/signature the peer computed did not match ours.';
    case 'id-mismatch':
      return 'The peer authenticated with an identity we do not expect.';
    case 'ts-mismatch':
      return 'The traffic selectors (proxy identities) do not match.';
    case 'pfs-mismatch':
      return 'Session key PFS settings differ.';
    case 'timeout':
      return 'The peer did not answer.';
    case 'invalid-message':
      return 'A message was malformed or unexpected.';
    case 'other':
      return r.detail ?? 'The negotiation failed.';
  }
}

export function renderExplain(peer: string, r: FailureRecord | null): string {
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
  lines.push('');
  lines.push(`Why: ${why(r)}`);
  if (r.detail && r.reason !== 'other') lines.push(`     ${r.detail}`);
  if (r.offered.length > 0 || r.acceptable.length > 0) {
    lines.push('');
    lines.push(`Offered by ${r.role === 'initiator' ? 'us' : r.peer}: ${list(r.offered)}`);
    lines.push(`Acceptable to us (${proposalField(r)}): ${list(r.acceptable)}`);
  }
  lines.push('');
  lines.push('To make them agree:');
  for (const s of suggestion(r)) lines.push(`  ${s}`);
  return lines.join('\n');
}
