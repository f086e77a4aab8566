/**
 * Text from a configuration file quoted back in an error message must not drive the
 * terminal it is printed on: a binary or hostile file could otherwise carry escape
 * sequences (ESC [ ... , OSC 52 clipboard writes) straight to the operator's screen.
 * Control characters (C0, DEL, C1) and Unicode bidirectional overrides are shown as
 * \xNN / \u{NNNN}; the replacement character U+FFFD (invalid UTF-8) stays visible.
 */

// C0 except none, DEL, C1, and the bidi embedding/override/isolate controls (Trojan Source).
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

export function escapeControl(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const n = c.codePointAt(0) ?? 0;
    if (c === '\t') return '\\t';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}
