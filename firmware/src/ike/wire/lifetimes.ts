// Life Type / Life Duration pairs, shared by phase 1 (RFC 2409 Appendix A,
// attributes 11/12) and phase 2 (RFC 2407 §4.5, attributes 1/2). A Life
// Duration always applies to the Life Type that precedes it; both seconds and
// kilobytes may appear in one transform. Durations are variable-length
// integers (often TV, often 4-byte TLV).

import { attributeInteger, integerAttribute, tv, type Attribute } from './attributes.ts';

export const LifeType = {
  SECONDS: 1,
  KILOBYTES: 2,
} as const;

export interface Lifetime {
  /** LifeType.SECONDS or LifeType.KILOBYTES (others are passed through). */
  type: number;
  duration: number;
}

/** Accumulates life type/duration attributes in order. `error` is set when
 * a duration has no preceding type, a type has no duration, or a duration
 * does not fit a safe integer. */
export class LifetimeCollector {
  readonly lifetimes: Lifetime[] = [];
  private pendingType: number | null = null;
  error: string | null = null;

  type(a: Attribute): void {
    const t = attributeInteger(a);
    if (this.pendingType !== null) this.error ??= `life type ${this.pendingType} has no life duration`;
    if (t === null) this.error ??= 'life type value unreadable';
    this.pendingType = t;
  }

  duration(a: Attribute): void {
    const d = attributeInteger(a);
    if (this.pendingType === null) {
      this.error ??= 'life duration without a preceding life type';
      return;
    }
    if (d === null) {
      this.error ??= 'life duration empty or larger than 2^53';
      return;
    }
    this.lifetimes.push({ type: this.pendingType, duration: d });
    this.pendingType = null;
  }

  finish(): void {
    if (this.pendingType !== null) this.error ??= `life type ${this.pendingType} has no life duration`;
  }
}

export function lifetimeAttributes(typeAttr: number, durationAttr: number, lifetimes: readonly Lifetime[]): Attribute[] {
  const out: Attribute[] = [];
  for (const l of lifetimes) out.push(tv(typeAttr, l.type), integerAttribute(durationAttr, l.duration));
  return out;
}
