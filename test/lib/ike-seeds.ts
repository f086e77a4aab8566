// ISAKMP messages built with the project's own builders, covering every
// payload type and the nested SA structures: seeds for the mutation fuzz test
// (test/unit/ike-wire-fuzz.test.ts) and the libFuzzer corpora (test/fuzz).

import {
  encodeMessage,
  ExchangeType,
  IdType,
  integerAttribute,
  mainMode1,
  PayloadType,
  quickMode1,
  trafficSelector,
} from '../../firmware/src/ike/wire/index.ts';

/** An informational message holding one payload of (nearly) every type. */
export const synthetic = encodeMessage(
  {
    initiatorCookie: Buffer.from('a1a2a3a4a5a6a7a8', 'hex'),
    responderCookie: Buffer.from('b1b2b3b4b5b6b7b8', 'hex'),
    exchangeType: ExchangeType.INFORMATIONAL,
    flags: 0,
    messageId: 7,
  },
  [
    { type: PayloadType.HASH, data: Buffer.alloc(20, 1) },
    { type: PayloadType.NOTIFY, doi: 1, protocol: 1, spi: Buffer.alloc(16, 2), notifyType: 36136, data: Buffer.from('00000001', 'hex') },
    { type: PayloadType.DELETE, doi: 1, protocol: 3, spiSize: 4, spis: [Buffer.from('01020304', 'hex')] },
    { type: PayloadType.ID, protocol: 17, port: 500, id: { idType: IdType.IPV6_ADDR_RANGE, start: '2001:db8::1', end: '2001:db8::ff' } },
    { type: PayloadType.ID, protocol: 0, port: 0, id: { idType: IdType.USER_FQDN, name: 'a@b.c' } },
    { type: PayloadType.CERT, encoding: 4, data: Buffer.alloc(10, 3) },
    { type: PayloadType.CR, encoding: 4, authority: Buffer.alloc(0) },
    { type: PayloadType.SIG, data: Buffer.alloc(9, 4) },
    { type: PayloadType.NAT_OA, idType: IdType.IPV4_ADDR, address: '10.0.0.1' },
    { type: PayloadType.NAT_D_DRAFT, hash: Buffer.alloc(16, 5) },
  ],
);

// SA-heavy seeds from the builders: several proposals/transforms, TV and
// TLV attributes, phase 2 IDs, so mutations hit the nested structures.
export const saHeavy = [
  encodeMessage(
    { initiatorCookie: Buffer.alloc(8, 0x42), responderCookie: Buffer.alloc(8), exchangeType: ExchangeType.MAIN, flags: 0, messageId: 0 },
    mainMode1({
      transforms: [
        {
          encryption: 7,
          keyLength: 256,
          hash: 4,
          group: 14,
          authMethod: 1,
          lifetimes: [
            { type: 1, duration: 86400 },
            { type: 2, duration: 2 ** 33 },
          ],
          other: [],
        },
        { encryption: 5, hash: 2, group: 2, authMethod: 3, lifetimes: [], other: [integerAttribute(15, 521)] },
      ],
    }),
  ),
  encodeMessage(
    {
      initiatorCookie: Buffer.alloc(8, 0x43),
      responderCookie: Buffer.alloc(8, 0x44),
      exchangeType: ExchangeType.QUICK,
      flags: 0,
      messageId: 9,
    },
    quickMode1(Buffer.alloc(20, 1), {
      proposals: [
        {
          protocol: 3,
          spi: Buffer.from('01020304', 'hex'),
          transforms: [
            { id: 20, attributes: { keyLength: 256, encapsulationMode: 3, lifetimes: [{ type: 1, duration: 3600 }], other: [] } },
            { id: 12, attributes: { keyLength: 128, authAlgorithm: 5, group: 19, lifetimes: [], other: [] } },
          ],
        },
        {
          protocol: 2,
          spi: Buffer.from('05060708', 'hex'),
          transforms: [{ id: 5, attributes: { authAlgorithm: 5, lifetimes: [], other: [] } }],
        },
      ],
      nonce: Buffer.alloc(24, 2),
      ke: Buffer.alloc(65, 3),
      ids: { initiator: trafficSelector('10.1.0.0/16', 6, 80), responder: trafficSelector('2001:db8::/32') },
      natOa: { flavour: 'rfc', initiator: '100.64.0.2', responder: '198.51.100.2' },
    }),
  ),
];
