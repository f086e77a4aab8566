// The control socket (firmware/src/control): bytes a local client writes,
// split into lines by LineBuffer in chunks of any size, each line decoded by
// parseRequest, the reply passed through the redactor and JSON, as the
// server does. Input: first byte = chunk size (1..256), the rest = the stream.
// Properties: LineBuffer returns the same lines whatever the chunking and
// never a line longer than MAX_LINE; parseRequest either returns a request
// of the documented shape or throws an Error with a message for the client;
// a reply echoing the request serialises.
import { LineBuffer, MAX_LINE, parseRequest } from '../../firmware/src/control/protocol.ts';
import { redactor } from '../../firmware/src/log/redact.ts';
import { check } from './lib/check.ts';

export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const size = data[0]! + 1;
  const text = data.subarray(1).toString('utf8');
  const chunked = new LineBuffer();
  const whole = new LineBuffer();
  const lines: string[] = [];
  for (let i = 0; i < text.length && !chunked.overflowed; i += size) lines.push(...chunked.push(text.slice(i, i + size)));
  const all = whole.push(text);
  check(chunked.overflowed === whole.overflowed, 'overflow depends on the chunking');
  if (!chunked.overflowed) check(JSON.stringify(all) === JSON.stringify(lines), 'lines depend on the chunking');
  for (const line of lines) {
    check(line.length <= MAX_LINE && !line.includes('\n') && line.trim() !== '', 'a bad line came out');
    let req;
    try {
      req = parseRequest(line);
    } catch (e) {
      check(e instanceof Error && e.constructor === Error && e.message.startsWith('request'), `unexpected ${String(e)}`);
      continue;
    }
    check(Number.isSafeInteger(req.id) && typeof req.command === 'string', 'request of the wrong shape');
    check(typeof req.args === 'object' && req.args !== null && !Array.isArray(req.args), 'args not an object');
    JSON.stringify(redactor.redact({ id: req.id, ok: true, result: req.args }));
  }
}
