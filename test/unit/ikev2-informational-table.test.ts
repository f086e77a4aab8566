// The IKEv2 informational handler table (firmware/src/ike/v2/exchange/informational.ts),
// the same shape as IKEv1's: each Delete or Notify of an INFORMATIONAL request is
// classified, and its handler returns the typed outcome (RFC 7296 §1.4, §1.4.1, §3.11).
import t from 'tap';
import {
  V2_INFORMATIONAL_HANDLERS,
  runV2InformationalHandler,
  v2InformationalKind,
} from '../../firmware/src/ike/v2/exchange/informational.ts';
import { PayloadType, ProtocolId } from '../../firmware/src/ike/v2/wire/constants.ts';
import type { DeletePayload, NotifyPayload } from '../../firmware/src/ike/v2/wire/payloads.ts';

const del = (protocol: number, spiSize: number, spis: Buffer[]): DeletePayload => ({ type: PayloadType.DELETE, protocol, spiSize, spis });
const spi = (n: number): Buffer => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
const note: NotifyPayload = { type: PayloadType.NOTIFY, protocol: 0, spi: Buffer.alloc(0), notifyType: 16384, data: Buffer.alloc(0) };

t.test('every kind classified and decided', async (t) => {
  t.equal(v2InformationalKind(del(ProtocolId.IKE, 0, [])), 'delete-ike', '§1.4.1: Delete with protocol IKE deletes the IKE SA');
  t.same(runV2InformationalHandler(del(ProtocolId.IKE, 0, [])), { kind: 'delete-ike' });
  const esp = del(ProtocolId.ESP, 4, [spi(0x20000002), spi(0xc0000001)]);
  t.equal(v2InformationalKind(esp), 'delete-esp');
  const outSpis = [0x20000002, 0xc0000001];
  t.same(runV2InformationalHandler(esp), { kind: 'delete-esp', outSpis }, 'the peer names its inbound SPIs, our outbound ones');
  t.equal(v2InformationalKind(del(ProtocolId.AH, 4, [spi(1)])), 'delete-other', 'AH is not ours');
  t.equal(v2InformationalKind(del(ProtocolId.ESP, 8, [Buffer.alloc(8)])), 'delete-other', 'an ESP Delete with another SPI size');
  t.equal(runV2InformationalHandler(del(ProtocolId.AH, 4, [spi(1)])).kind, 'ignored');
  t.equal(v2InformationalKind(note), 'notify');
  t.equal(runV2InformationalHandler(note).kind, 'ignored', 'a notify in a request needs no action');
  t.same(Object.keys(V2_INFORMATIONAL_HANDLERS).sort(), ['delete-esp', 'delete-ike', 'delete-other', 'notify'], 'one entry per kind');
});
