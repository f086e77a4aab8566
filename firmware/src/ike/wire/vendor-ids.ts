// Vendor ID payload contents (RFC 2408 §3.16) that change protocol behaviour.
// Most are MD5 hashes of a string (test/unit/ike-wire-vendor.test.ts checks
// the derivations); DPD, XAUTH and Cisco fragmentation are fixed values.

export interface KnownVendorId {
  name: string;
  bytes: Buffer;
  /** True when peers append data after these bytes (versions, flags). */
  prefix: boolean;
}

function vid(name: string, hex: string, prefix = false): KnownVendorId {
  return { name, bytes: Buffer.from(hex, 'hex'), prefix };
}

export const VendorId = {
  /** RFC 3947 §3.1: MD5("RFC 3947"). */
  NAT_T_RFC3947: vid('RFC 3947', '4a131c81070358455c5728f20e95452f'),
  /** MD5("draft-ietf-ipsec-nat-t-ike-02\n"): the newline is part of the hash input. */
  NAT_T_DRAFT_02_N: vid('draft-ietf-ipsec-nat-t-ike-02\\n', '90cb80913ebb696e086381b5ec427b1f'),
  NAT_T_DRAFT_02: vid('draft-ietf-ipsec-nat-t-ike-02', 'cd60464335df21f87cfdb2fc68b6a448'),
  NAT_T_DRAFT_03: vid('draft-ietf-ipsec-nat-t-ike-03', '7d9419a65310ca6f2c179d9215529d56'),
  /** RFC 3706 §4: 14 fixed bytes, then major version 1, minor version 0. */
  DPD: vid('RFC 3706 DPD', 'afcad71368a1f1c96b8696fc77570100'),
  /** draft-ietf-ipsec-isakmp-xauth: 8 bytes. */
  XAUTH: vid('XAUTH', '09002689dfd6b712'),
  /** Cisco IKE fragmentation; strongSwan appends 4 bytes of capability flags. */
  CISCO_FRAGMENTATION: vid('Cisco Fragmentation', '4048b7d56ebce88525e7de7f00d6c2d3', true),
  /** MD5("strongSwan"); strongSwan may send it with a version suffix. */
  STRONGSWAN: vid('strongSwan', '882fe56d6fd20dbc2251613b2ebe5beb', true),
} as const;

export type VendorIdName = keyof typeof VendorId;

/** The known vendor ID a payload carries, or null. */
export function identifyVendorId(data: Buffer): VendorIdName | null {
  for (const key of Object.keys(VendorId) as VendorIdName[]) {
    const v = VendorId[key];
    if (v.prefix ? data.length >= v.bytes.length && data.subarray(0, v.bytes.length).equals(v.bytes) : data.equals(v.bytes)) {
      return key;
    }
  }
  return null;
}

/** What we send for the fragmentation extension (fragment.ts): MD5("FRAGMENTATION")
 * followed by 4 capability bytes 0x80000000 ("fragmentation of main and aggressive
 * mode messages"; 0x40000000 would be base mode), as strongSwan's
 * src/libcharon/sa/ikev1/tasks/isakmp_vendor.c sends it. */
export const FRAGMENTATION_VENDOR_ID: Buffer = Buffer.concat([VendorId.CISCO_FRAGMENTATION.bytes, Buffer.from('80000000', 'hex')]);

/** Whether a vendor ID announces IKEv1 fragmentation we may use: the bare 16-byte
 * hash (Windows sends it so), or hash + 4 capability bytes with the 0x80000000
 * bit; other lengths or capabilities do not count (strongSwan's rule too). */
export function announcesFragmentation(data: Buffer): boolean {
  const hash = VendorId.CISCO_FRAGMENTATION.bytes;
  if (data.length < hash.length || !data.subarray(0, hash.length).equals(hash)) return false;
  if (data.length === hash.length) return true;
  return data.length === hash.length + 4 && (data.readUInt32BE(hash.length) & 0x80000000) !== 0;
}

/** The NAT-T payload numbering a peer's vendor IDs call for (RFC 3947 §3):
 * 'rfc' uses payload types 20/21 and encapsulation modes 3/4, 'draft' uses
 * 130/131 and 61443/61444, null means no NAT-T support was announced. */
export function natTraversalFlavour(vendorIds: readonly Buffer[]): 'rfc' | 'draft' | null {
  const names = new Set(vendorIds.map(identifyVendorId));
  if (names.has('NAT_T_RFC3947')) return 'rfc';
  if (names.has('NAT_T_DRAFT_02_N') || names.has('NAT_T_DRAFT_02') || names.has('NAT_T_DRAFT_03')) return 'draft';
  return null;
}
