// IKEv2 stateless cookies under a spoofed IKE_SA_INIT flood (RFC 7296 §2.6):
// 1,000 IKE_SA_INIT requests a second carrying the real peer's public address
// as source (the NAT namespace owns it, spoofing needs no return path), each
// with a fresh SPIi, while the real peer (gwA, behind the NAT) terminates and
// initiates again. Above COOKIE_THRESHOLD half-open IKE SAs gwB answers with
// N(COOKIE) only and keeps no state; the flooder never echoes a cookie, gwA
// does, so it gets its tunnel back while the flood runs, and gwB's half-open
// state stays bounded. The flooder is shared with ike-spoofed-lockout.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { LAB, labForTest } from '../lib/lab.ts';
import { labSkipReason } from '../lib/root.ts';
import { waitUntil } from '../lib/wait.ts';
import { FLOODER, runFlooder } from '../lib/ike-flooder.ts';
import { controlRequest } from '../../firmware/src/control/client.ts';
import { encodeMessage, ExchangeType, HeaderFlag, PayloadType } from '../../firmware/src/ike/v2/wire/index.ts';
import { ikeOffer } from '../../firmware/src/ike/v2/exchange/proposals.ts';
import { COOKIE_THRESHOLD } from '../../firmware/src/ike/v2/exchange/node.ts';
import { sitelinkdPath, labGatewayPair, startLabTunnel } from './ike-sitelinkd.ts';

const skip = labSkipReason();
const FLOOD_MS = 30_000; // at most: stopped once the tunnel is back
const RATE = 1000;

t.test('spoofed IKE_SA_INIT flood: COOKIEs instead of state, the real peer gets through during the flood', { skip: skip ?? false }, async (t) => {
  if (!existsSync(sitelinkdPath)) return t.fail(`cannot run: ${sitelinkdPath} is not built (npm run build)`);
  const { lab, dir } = await labForTest(t, 'ck2');
  const psk = `cookie-${Math.random().toString(36).slice(2)}`;
  const common = { psk, version: 2 as const, proposals: 'aes128gcm16-prfsha256-curve25519' };
  const { a: confA, b: confB } = labGatewayPair(dir, psk, { a: common, b: common });
  const { a, b, up } = await startLabTunnel(t, lab, { a: confA, b: confB });
  t.ok(up, 'the tunnel is up');
  if (!up) return;

  // An IKE_SA_INIT gwB accepts (its own suite, a valid curve25519 KE): without cookies each one opens state.
  const init = encodeMessage(
    { spiI: Buffer.alloc(8, 1), spiR: Buffer.alloc(8), exchange: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.INITIATOR, messageId: 0 },
    [
      { type: PayloadType.SA, proposals: ikeOffer([{ encryption: 'aes128gcm16', integrity: 'sha256', dhGroup: 31 }]) },
      { type: PayloadType.KE, group: 31, data: randomBytes(32) },
      { type: PayloadType.NONCE, data: randomBytes(32) },
    ],
  ).toString('hex');
  const flood = runFlooder(t, lab.ns('nat'), FLOODER, [LAB.gwBWan, String(FLOOD_MS), String(RATE), init, LAB.natPublic, '8']);
  const flooder = flood.proc;

  const cookies = async (): Promise<number> => (await controlRequest(b.files.socket, 'counters')).ikev2?.cookiesSent ?? 0;
  const asking = await waitUntil(async () => (await cookies()) > 500, 15_000, 200);
  t.ok(asking, `gwB answers the flood with COOKIEs (${await cookies()} so far; ${flood.err().trim()})`);

  await controlRequest(a.files.socket, 'terminate', { peer: 'gwB' });
  const down = await waitUntil(async () => (await controlRequest(b.files.socket, 'sas')).quickMode.length === 0, 10_000, 100);
  t.ok(down, 'gwB dropped the tunnel on the Delete');
  const t0 = Date.now();
  await controlRequest(a.files.socket, 'initiate', { peer: 'gwB' });
  let back = false;
  await waitUntil(async () => {
    if (flooder.exitCode !== null) return true;
    back = await lab.ping('lanA', LAB.lanB, 1);
    return back;
  }, FLOOD_MS, 250);
  if (!back) t.comment(`gwA log:\n${a.logText().slice(-4000)}`);
  t.ok(back && flooder.exitCode === null, `the tunnel is back while the flood runs (after ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  t.match(a.logText(), /responder asks for a COOKIE/, 'gwA was asked for a cookie and echoed it');
  const sas = await controlRequest(b.files.socket, 'sas');
  const negotiating = sas.mainMode.filter((m) => m.state === 'negotiating').length;
  t.ok(negotiating <= COOKIE_THRESHOLD + 1, `gwB's half-open IKE SAs stay bounded (${negotiating}, cookies from ${COOKIE_THRESHOLD} on)`);

  flooder.kill('SIGTERM');
  t.equal(await flood.done, 0, 'flooder stopped');
  const counts = JSON.parse(flood.out().trim() || '{}') as { mm1: number; replies: number };
  t.ok(counts.mm1 > 500, `flooded ${counts.mm1} IKE_SA_INITs (${counts.replies} answers came back to the spoofed address)`);
  t.ok(b.running, 'gwB is alive');
});
