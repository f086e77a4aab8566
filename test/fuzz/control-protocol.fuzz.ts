// The control socket (firmware/src/control): request lines a local client
// writes, decoded by parseRequest and answered through the redactor and JSON
// as the server does. Input: the stream; it is split at newlines the way the
// server splits it (lines over MAX_LINE cut the connection there).
// Properties: parseRequest either returns a request of the documented shape
// or throws a plain Error whose message is meant for the client; a reply
// echoing the request serialises.
import { MAX_LINE, parseRequest } from '../../firmware/src/control/protocol.ts';
import { redactor } from '../../firmware/src/log/redact.ts';
import { check } from './lib/check.ts';

export function fuzz(data: Buffer): void {
  for (const line of data.toString('utf8').split('\n')) {
    if (line.length > MAX_LINE) return;
    if (line.trim() === '') continue;
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
