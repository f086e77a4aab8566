// The validated config (config/types.ts) in the shape the exchanges use
// (ike/exchange/types.ts): one PeerPolicy per IKE peer, its tunnels from the
// negotiate rules' traffic selectors (policy/selectors.ts), certificates
// loaded for signature authentication.

import type { PeerIdentity, SitelinkConfig } from '../config/types.ts';
import type { PeerAuth, PeerPolicy, TunnelPolicy } from '../ike/exchange/types.ts';
import { loadSignatureAuth } from './signature-auth.ts';
import type { CrlLookup } from '../ike/crypto/x509-verify.ts';
import { IdType, type Identity } from '../ike/wire/index.ts';
import { tunnelsOf } from '../policy/selectors.ts';
import { encodeDn, parseDnText } from '../ike/crypto/distinguished-name.ts';

export function identityOf(id: PeerIdentity): Identity {
  switch (id.kind) {
    case 'ipv4':
      return { idType: IdType.IPV4_ADDR, address: id.value };
    case 'ipv6':
      return { idType: IdType.IPV6_ADDR, address: id.value };
    case 'fqdn':
      return { idType: IdType.FQDN, name: id.value };
    case 'user-fqdn':
      return { idType: IdType.USER_FQDN, name: id.value };
    case 'dn': {
      // The validator checked the text; a DER Name is what ID_DER_ASN1_DN carries.
      const attrs = parseDnText(id.value);
      return { idType: IdType.DER_ASN1_DN, data: typeof attrs === 'string' ? Buffer.alloc(0) : encodeDn(attrs) };
    }
  }
}

export interface PolicyProblem {
  peer: string;
  message: string;
}

/** `localAddressOf` gives our address towards a peer (see local-address.ts);
 * `remoteAddressOf` the peer's address with DNS names resolved; `crlsOf` the current
 * CRLs of a peer's sources and of a certificate's distribution points (crl-store.ts;
 * none without a store). */
export function peerPolicies(
  config: SitelinkConfig,
  localAddressOf: (peer: string) => string,
  remoteAddressOf: (peer: string) => string | undefined = () => undefined,
  crlsOf: (sources: readonly string[], distributionPoints: readonly string[]) => readonly Buffer[] | CrlLookup = () => [],
): { peers: PeerPolicy[]; problems: PolicyProblem[] } {
  const peers: PeerPolicy[] = [];
  const problems: PolicyProblem[] = [];
  const tunnels = tunnelsOf(config);
  const filterListOf = (rule: string): string | undefined => config.rules.find((r) => r.name === rule)?.filterList.name;
  for (const p of config.peers.values()) {
    // Every configured method, in order of precedence: IKEv1 names one per phase 1
    // transform, so all are offered and the responder picks (main-mode.ts).
    const auth: PeerAuth[] = [];
    let broken = false;
    for (const a of p.auth) {
      if (a.kind === 'psk') {
        if (p.psk === null) {
          problems.push({ peer: p.name, message: 'no pre-shared key for this peer in the secrets file' });
          broken = true;
        }
        auth.push({ kind: 'psk' });
        continue;
      }
      const loaded = loadSignatureAuth(a, p.crl, (points) => crlsOf(p.crl.sources, points));
      if (typeof loaded === 'string') {
        problems.push({ peer: p.name, message: loaded });
        broken = true;
        continue;
      }
      auth.push({ kind: 'signature', signature: loaded });
    }
    if (p.ppk && !p.ppkKey) {
      problems.push({ peer: p.name, message: `no PPK "${p.ppk.id}" in the secrets file` });
      if (p.ppk.required) continue;
    }
    if (broken) continue;
    const mine: TunnelPolicy[] = [];
    for (const t of tunnels.filter((x) => x.peer === p.name)) {
      t.selectors.forEach((s, i) => {
        // RFC 2407 §4.6.2: a client ID carries a protocol and one port (0 = any), so a
        // range can only be negotiated as the whole protocol.
        const one = (r: [number, number] | undefined): number | null => (r === undefined ? 0 : r[0] === r[1] ? r[0] : null);
        const lp = one(s.localPorts);
        const rp = one(s.remotePorts);
        if (lp === null || rp === null) {
          problems.push({
            peer: p.name,
            message:
              `rule ${t.rule}: a port range cannot be negotiated in IKEv1 (one port per ID); ` +
              `negotiated for protocol ${s.protocol ?? 0}, all ports`,
          });
        }
        const ports = s.protocol !== undefined ? { protocol: s.protocol, localPort: lp ?? 0, remotePort: rp ?? 0 } : undefined;
        mine.push({
          name: t.selectors.length === 1 ? t.rule : `${t.rule}#${i + 1}`,
          local: s.local,
          remote: s.remote,
          ...(ports ? { ports } : {}),
          methods: t.action.securityMethods.map((m) => ({ esp: m.esp, lifetimeSeconds: m.lifetimeSeconds, lifetimeKilobytes: m.lifetimeKilobytes })),
          pfsGroup: t.action.pfsGroup,
          ...(p.ikeVersion === 2 && t.action.pfsAddKe ? { addKe: t.action.pfsAddKe } : {}),
          ...(p.ikeVersion === 2 && p.esn !== 'no' ? { esn: p.esn } : {}),
          action: t.action.name,
          ...(filterListOf(t.rule) ? { filterList: filterListOf(t.rule)! } : {}),
          ...(t.action.defaultResponse ? { defaultResponse: true } : {}),
        });
      });
    }
    peers.push({
      name: p.name,
      ikeVersion: p.ikeVersion,
      remoteAddress: remoteAddressOf(p.name) ?? p.remoteAddress,
      localAddress: p.localAddress ?? localAddressOf(p.name),
      localId: identityOf(p.localId),
      remoteId: identityOf(p.remoteId),
      psk: p.psk,
      auth,
      ikeMethods: p.keyExchange.methods.map((m) => ({
        encryption: m.encryption,
        integrity: m.integrity,
        dhGroup: m.dhGroup,
        ...(m.addKe ? { addKe: m.addKe } : {}),
      })),
      ikeLifetimeSeconds: p.keyExchange.lifetimeSeconds,
      ...(p.ppk && p.ppkKey ? { ppk: { id: Buffer.from(p.ppk.id, 'utf8'), key: p.ppkKey, required: p.ppk.required } } : {}),
      ...(p.fragmentSize !== null ? { fragmentSize: p.fragmentSize } : {}),
      // Master key PFS: every quick mode gets its own main mode.
      quickModeLimit: p.keyExchange.masterKeyPfs ? 1 : p.keyExchange.quickModeLimit,
      allowWeak: p.allowWeak,
      natTraversal: p.natTraversal,
      keepaliveSeconds: p.keepaliveSeconds,
      dpd: p.dpd,
      tunnels: mine,
    });
  }
  return { peers, problems };
}
