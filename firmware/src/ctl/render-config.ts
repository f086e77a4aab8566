/** Human renderings of the config history and the confirm window (sitelinkctl config, confirm). */
import type { ConfirmPending, HistoryResult } from '../control/protocol.ts';
import { table } from './table.ts';

export function renderPending(p: ConfirmPending): string {
  return `UNCONFIRMED change: reverts to history ${p.revertTo} in ${p.secondsLeft}s (${p.deadline}) unless "sitelinkctl confirm"`;
}

export function renderHistory(h: HistoryResult): string {
  const rows = h.entries.map((e) => [
    String(e.index), String(e.seq), e.saved, e.source, e.sha256.slice(0, 12), e.index === 0 ? (e.pending ? 'running, unconfirmed' : 'running') : '',
  ]);
  const t = rows.length === 0 ? 'no configurations saved yet' : table(['N', 'SEQ', 'SAVED', 'HOW', 'SHA256', ''], rows);
  return h.confirmPending ? `${t}\n\n${renderPending(h.confirmPending)}` : t;
}
