// Vendor ID constants: the MD5-derived ones are recomputed here rather than
// trusted, and the fixed ones are checked against the capture's MM1.

import t from 'tap';
import { createHash } from 'node:crypto';
import { identifyVendorId, natTraversalFlavour, VendorId } from '../../firmware/src/ike/wire/index.ts';

const md5 = (s: string): string => createHash('md5').update(s, 'latin1').digest('hex');

t.test('MD5-derived vendor IDs', async (t) => {
  t.equal(VendorId.NAT_T_RFC3947.bytes.toString('hex'), md5('RFC 3947'), 'RFC 3947 §3.1');
  t.equal(VendorId.NAT_T_DRAFT_02_N.bytes.toString('hex'), md5('draft-ietf-ipsec-nat-t-ike-02\n'));
  t.equal(VendorId.NAT_T_DRAFT_02.bytes.toString('hex'), md5('draft-ietf-ipsec-nat-t-ike-02'));
  t.equal(VendorId.NAT_T_DRAFT_03.bytes.toString('hex'), md5('draft-ietf-ipsec-nat-t-ike-03'));
  t.equal(VendorId.STRONGSWAN.bytes.toString('hex'), md5('strongSwan'));
});

t.test('identification, exact and prefix', async (t) => {
  t.equal(identifyVendorId(Buffer.from('afcad71368a1f1c96b8696fc77570100', 'hex')), 'DPD');
  t.equal(identifyVendorId(Buffer.from('afcad71368a1f1c96b8696fc77570101', 'hex')), null, 'other DPD version is not RFC 3706 1.0');
  t.equal(identifyVendorId(Buffer.from('4048b7d56ebce88525e7de7f00d6c2d380000000', 'hex')), 'CISCO_FRAGMENTATION');
  t.equal(identifyVendorId(Buffer.from('4048b7d56ebce88525e7de7f00d6c2', 'hex')), null, 'short prefix does not match');
  t.equal(identifyVendorId(Buffer.concat([VendorId.STRONGSWAN.bytes, Buffer.from('5.9.8')])), 'STRONGSWAN');
  t.equal(identifyVendorId(Buffer.alloc(16)), null);
  t.equal(identifyVendorId(Buffer.alloc(0)), null);
});

t.test('NAT-T flavour from vendor IDs', async (t) => {
  t.equal(natTraversalFlavour([VendorId.NAT_T_DRAFT_02_N.bytes, VendorId.NAT_T_RFC3947.bytes]), 'rfc', 'RFC wins over drafts');
  t.equal(natTraversalFlavour([VendorId.DPD.bytes, VendorId.NAT_T_DRAFT_03.bytes]), 'draft');
  t.equal(natTraversalFlavour([VendorId.DPD.bytes]), null);
});
