/**
 * Which IP version a text is, exactly as Node's net.isIP answers (the property
 * test in test/unit/ip-text.test.ts holds the two together), without its
 * regular expressions. sitelinkd runs V8 with --regexp-interpret-all (issue
 * 10), and Node's IPv6 expression is large: its first use compiled it for
 * ~0.1 s of the board's start (CPU profile in the QEMU guest, issue 14), and
 * every later one is interpreted. This is a scan of the characters.
 *
 * Text forms (RFC 4291 §2.2): IPv4 dotted decimal without leading zeros; IPv6
 * as eight groups of 1-4 hex digits, at most one "::" standing for the rest,
 * an IPv4 tail in place of the last two groups, and a zone (RFC 4007 §11) after
 * "%" of letters, digits, "-", "." and ":".
 */

/** 4, 6, or 0 when the text is neither (net.isIP). */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (isIPv4Text(text)) return 4;
  if (isIPv6Text(text)) return 6;
  return 0;
}

/** Dotted decimal, four parts 0-255, no leading zeros ("01" is not an octet). */
export function isIPv4Text(s: string): boolean {
  let parts = 0, i = 0;
  const n = s.length;
  while (parts < 4) {
    const start = i;
    let value = 0;
    while (i < n && i - start < 4) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || value > 255 || (len > 1 && s.charCodeAt(start) === 48)) return false;
    parts++;
    if (parts < 4) {
      if (s.charCodeAt(i) !== 46) return false; // '.'
      i++;
    }
  }
  return i === n;
}

/** True when s[from, to) is 1-4 hex digits. */
function isHexGroup(s: string, from: number, to: number): boolean {
  if (to - from < 1 || to - from > 4) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) | 0x20; // folds A-F to a-f, keeps digits apart
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** A zone's characters: [0-9a-zA-Z.:-], at least one. */
function isZone(s: string, from: number): boolean {
  if (from >= s.length) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 58) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46; // 0-9 : A-Z a-z - .
    if (!ok) return false;
  }
  return true;
}

/**
 * Counts the 16-bit groups of one side of "::" (or of the whole address), or -1
 * when a group is malformed. An IPv4 tail counts as two and is allowed only as
 * the last element of the address (`endsAddress`).
 */
function countGroups(s: string, from: number, to: number, endsAddress: boolean): number {
  if (from === to) return 0;
  let groups = 0, start = from;
  for (let i = from; i <= to; i++) {
    if (i < to && s.charCodeAt(i) !== 58) continue; // ':'
    if (i === to && endsAddress && s.lastIndexOf('.', to - 1) >= start) {
      if (!isIPv4Text(s.slice(start, to))) return -1;
      groups += 2;
    } else {
      if (!isHexGroup(s, start, i)) return -1;
      groups++;
    }
    start = i + 1;
  }
  return groups;
}

/** IPv6 text, with an optional IPv4 tail and zone. */
export function isIPv6Text(text: string): boolean {
  const pct = text.indexOf('%');
  if (pct >= 0 && !isZone(text, pct + 1)) return false;
  const end = pct >= 0 ? pct : text.length;
  const gap = text.indexOf('::');
  if (gap < 0 || gap + 2 > end) return countGroups(text, 0, end, true) === 8;
  // One "::" only: a second one, or ":::" (which holds two), is not an address.
  const again = text.indexOf('::', gap + 1);
  if (again >= 0 && again < end) return false;
  const head = countGroups(text, 0, gap, false);
  const tail = countGroups(text, gap + 2, end, true);
  return head >= 0 && tail >= 0 && head + tail <= 7;
}

/**
 * The address's bytes in network order: 4 for IPv4, 16 for IPv6, or null for text
 * that is not an address (ipFamily 0). An IPv4 tail is the last four bytes; a zone
 * is dropped (RFC 4007 §11: it says which link, it is not part of the address).
 * The one parser of IP text to bytes: base/address.ts (bigints), the ESP engine's
 * checks (dataplane/validate.ts) and NAT detection (ike/crypto/nat-d.ts) use it.
 */
export function ipBytes(text: string): Uint8Array | null {
  const family = ipFamily(text);
  if (family === 0) return null;
  if (family === 4) {
    const out = new Uint8Array(4);
    writeIPv4(text, 0, text.length, out, 0);
    return out;
  }
  const out = new Uint8Array(16);
  const pct = text.indexOf('%');
  const end = pct >= 0 ? pct : text.length;
  const gap = text.indexOf('::');
  if (gap < 0 || gap + 2 > end) {
    writeGroups(text, 0, end, out, 0);
    return out;
  }
  // "::" stands for the zero groups between the head (from the front) and the tail
  // (aligned to the end); out is zero already.
  writeGroups(text, 0, gap, out, 0);
  writeGroups(text, gap + 2, end, out, 16 - 2 * countGroups(text, gap + 2, end, true));
  return out;
}

/** Dotted decimal s[from, to) (already checked) into out at `at`. */
function writeIPv4(s: string, from: number, to: number, out: Uint8Array, at: number): void {
  let value = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 46;
    if (c === 46) {
      out[at++] = value;
      value = 0;
    } else value = value * 10 + (c - 48);
  }
}

/** The hex groups (and IPv4 tail) in s[from, to), already checked, into out at `at`. */
function writeGroups(s: string, from: number, to: number, out: Uint8Array, at: number): void {
  if (from === to) return;
  let start = from;
  for (let i = from; i <= to; i++) {
    if (i < to && s.charCodeAt(i) !== 58) continue; // ':'
    // An IPv4 tail is only ever the last element (as countGroups checks it).
    if (i === to && s.lastIndexOf('.', to - 1) >= start) {
      writeIPv4(s, start, i, out, at);
      at += 4;
    } else {
      let g = 0;
      for (let k = start; k < i; k++) {
        const c = s.charCodeAt(k) | 0x20;
        g = g * 16 + (c <= 57 ? c - 48 : c - 87); // '0'-'9' (the fold leaves digits), 'a'-'f'
      }
      out[at++] = g >> 8;
      out[at++] = g & 0xff;
    }
    start = i + 1;
  }
}
