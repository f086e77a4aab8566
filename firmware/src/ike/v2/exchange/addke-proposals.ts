// RFC 9370 §2.2.1 additional key exchange transforms (ADDKE1..7, transform
// types 6..12) in IKE SA proposals. A configured method lists, per ADDKE slot,
// its alternatives in order of preference; NONE (ID 0) makes that exchange
// optional. The responder answers one transform of each type the initiator
// proposed (RFC 7296 §3.3.6), NONE included; a slot nobody lists is skipped.

import type { AdditionalKe, IkeMethod } from '../../exchange/types.ts';
import { addKeType, KeMethodId, TransformType } from '../wire/constants.ts';
import type { Transform } from '../wire/payloads.ts';
import { isAddKeMethod } from '../crypto/additional-ke.ts';

export const MAX_ADDKE_SLOTS = 7;

/** Transform types ADDKE1..ADDKE7 (RFC 9370 §2.2.1). */
export const ADDKE_TYPES: readonly number[] = [6, 7, 8, 9, 10, 11, 12];

export const isAddKeType = (type: number): boolean => type >= TransformType.ADDKE1 && type <= TransformType.ADDKE7;

/** One negotiated additional key exchange, in the order the IKE_INTERMEDIATE exchanges run (§2.2.2: by ADDKE number). */
export interface ChosenAddKe {
  slot: number;
  id: number;
}

/** Whether every method this config names is implemented (an unknown one makes the method unusable, not the daemon crash). */
export function addKeUsable(m: IkeMethod): boolean {
  return (m.addKe ?? []).every((k) => k.slot >= 1 && k.slot <= MAX_ADDKE_SLOTS && k.ids.every((id) => id === KeMethodId.NONE || isAddKeMethod(id)));
}

/** What names additional key exchanges: an IKE method, or a tunnel for its child SAs (RFC 9370 §2.2.4). */
type WithAddKe = Pick<IkeMethod, 'addKe'>;

export function addKeTransforms(m: WithAddKe): Transform[] {
  return (m.addKe ?? []).flatMap((k) => k.ids.map((id) => ({ type: addKeType(k.slot), id })));
}

const oursFor = (m: WithAddKe, slot: number): readonly number[] => m.addKe?.find((k: AdditionalKe) => k.slot === slot)?.ids ?? [];

/** Responder: our pick per ADDKE type among the peer's proposal, or null when a slot cannot be agreed. */
export function chooseAddKe(m: WithAddKe, offered: readonly Transform[]): Transform[] | null {
  const out: Transform[] = [];
  for (let slot = 1; slot <= MAX_ADDKE_SLOTS; slot++) {
    const type = addKeType(slot);
    const ours = oursFor(m, slot);
    const theirs = offered.filter((t) => t.type === type).map((t) => t.id);
    if (theirs.length === 0) {
      if (ours.length > 0 && !ours.includes(KeMethodId.NONE)) return null;
      continue;
    }
    const pick = ours.length === 0 ? (theirs.includes(KeMethodId.NONE) ? KeMethodId.NONE : undefined) : ours.find((id) => theirs.includes(id));
    if (pick === undefined) return null;
    out.push({ type, id: pick });
  }
  return out;
}

/** Initiator: the responder's ADDKE transforms are one per type at most, each one we offered (absent = NONE). */
export function acceptAddKe(m: WithAddKe, answer: readonly Transform[]): boolean {
  for (let slot = 1; slot <= MAX_ADDKE_SLOTS; slot++) {
    const type = addKeType(slot);
    const ours = oursFor(m, slot);
    const got = answer.filter((t) => t.type === type);
    if (got.length > 1) return false;
    if (got.length === 0 ? ours.length > 0 && !ours.includes(KeMethodId.NONE) : !ours.includes(got[0]!.id)) return false;
  }
  return true;
}

/** The exchanges to run: the chosen non-NONE ADDKE transforms by slot. */
export function chosenAddKe(transforms: readonly Transform[]): ChosenAddKe[] {
  return transforms
    .filter((t) => isAddKeType(t.type) && t.id !== KeMethodId.NONE)
    .map((t) => ({ slot: t.type - TransformType.ADDKE1 + 1, id: t.id }))
    .sort((a, b) => a.slot - b.slot);
}
