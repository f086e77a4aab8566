/**
 * Turns a parsed sitelink.conf into the typed SitelinkConfig, collecting every error
 * (file, line, dotted field, what was expected). Schema: docs/config.md.
 */
import type { ConfSection } from './parse.ts';
import type {
  AuthMethod, ConfigError, DhGroup, DpdSettings, Exemption, Filter, FilterAction, FilterList, GatewaySettings,
  LoadResult, MainModeMethod, Peer, PeerIdentity, Rule, SecurityMethod, SitelinkConfig,
} from './types.ts';
import { ANY_REMOTE } from '../base/address.ts';
import type { Secret } from '../base/secret.ts';
import { SectionReader, path, text } from './reader.ts';
import {
  parseAddressSpec, parseBool, parseDhGroup, parsePfs, parseDuration, parseEspAlgorithm, parseHostOrName,
  parseIdentity, parseKilobytes, parseMainModeMethod, parsePortRange, parseProtocol, parseUint,
  oneOf, weaknessOf, WEAK_DH, DH_NAME, isAeadEncryption, formatMainModeMethod, type Parsed,
} from './values.ts';
import { parseIp } from '../base/address.ts';
import { existsSync } from 'node:fs';
import { distributionPointsOfPemFiles } from '../ike/crypto/cert-files.ts';
import { dirname, resolve } from 'node:path';

export const DEFAULT_EXEMPTIONS = ['broadcast', 'multicast', 'dhcp'] as const satisfies readonly Exemption[];

/** Shorter pre-shared keys are warned about: the seed's minimum for a PSK that resists guessing. */
export const PSK_MIN_LENGTH = 25;

export const DEFAULTS = {
  controlSocket: '/run/sitelink/control.sock',
  secretsFile: '/etc/sitelink/secrets.conf',
  logFile: '/var/log/sitelink/negotiation.log',
  /** 1 MiB: log and .sav fit a board's 8 MiB /var/log tmpfs with room for the rest. */
  logMaxKilobytes: 1024,
  espLifetimeSeconds: 3600,
  espLifetimeKilobytes: 100000,
  mainModeLifetimeSeconds: 480 * 60,
  mainModeMethods: ['aes256-sha256-modp2048', 'aes128-sha256-modp2048', 'aes128-sha1-modp2048'],
} as const;

/** PSKs by identity (or peer name), from the secrets file; null when not loaded (check mode). */
/** PSKs by identity; PPKs (RFC 8784) by PPK_ID under PPK_PREFIX (secrets.ts's ppk section). */
export type SecretsTable = Map<string, Secret>;
export const PPK_PREFIX = 'ppk:';
const NAME_LIKE = /^[A-Za-z0-9_.@:\/-]{1,64}$/;

export interface ValidateOptions {
  /** Secrets from the secrets file; null = not loaded (`sitelinkctl check` without access). */
  secrets: SecretsTable | null;
}

export function validateConfig(file: string, root: ConfSection, opts: ValidateOptions): LoadResult {
  const errors: ConfigError[] = [];
  const warnings: ConfigError[] = [];
  const top = new SectionReader(file, root, '', errors);

  const gwSec = top.sub('gateway');
  const gateway = readGateway(gwSec ? new SectionReader(file, gwSec, 'gateway', errors) : null);

  const peers = new Map<string, Peer>();
  const peersSec = top.sub('peers');
  if (peersSec) {
    for (const s of new SectionReader(file, peersSec, 'peers', errors).namedSections()) {
      const p = readPeer(new SectionReader(file, s, `peers.${s.name}`, errors), gateway, opts, warnings);
      if (p) peers.set(p.name, p);
    }
    checkRoamingPeers([...peers.values()].filter((p) => p.remoteAddress === ANY_REMOTE), file, errors);
  }

  const filterLists = new Map<string, FilterList>();
  const flSec = top.sub('filter-lists');
  if (flSec) {
    for (const s of new SectionReader(file, flSec, 'filter-lists', errors).namedSections()) {
      filterLists.set(s.name, readFilterList(new SectionReader(file, s, `filter-lists.${s.name}`, errors)));
    }
  }

  const filterActions = new Map<string, FilterAction>();
  const faSec = top.sub('filter-actions');
  if (faSec) {
    for (const s of new SectionReader(file, faSec, 'filter-actions', errors).namedSections()) {
      const a = readFilterAction(new SectionReader(file, s, `filter-actions.${s.name}`, errors));
      if (a) filterActions.set(s.name, a);
    }
  }

  const rules: Rule[] = [];
  const rulesSec = top.sub('rules');
  if (rulesSec) {
    for (const s of new SectionReader(file, rulesSec, 'rules', errors).namedSections()) {
      const r = readRule(new SectionReader(file, s, `rules.${s.name}`, errors), peers, filterLists, filterActions);
      if (r) rules.push(r);
    }
  } else {
    errors.push({ file, line: 1, field: 'rules', message: 'missing; expected a "rules { ... }" section with at least one rule' });
  }
  top.finish();

  for (const r of rules) {
    // RFC 9370 additional key exchanges exist only in IKEv2's CREATE_CHILD_SA.
    if (r.peer && r.peer.ikeVersion !== 2 && r.action.kind === 'negotiate' && r.action.pfsAddKe) {
      errors.push({
        file,
        line: r.action.at.line,
        field: `filter-actions.${r.action.name}.pfs`,
        message: `IKEv2 only (additional key exchanges such as -ke1_mlkem768): rule ${r.name} uses peer ${r.peer.name} with version = 1`,
      });
    }
    // Fallback needs a peer that can be asked and stay silent; a %any peer is never asked.
    if (r.peer?.remoteAddress === ANY_REMOTE && r.action.kind === 'negotiate' && r.action.fallbackToClear) {
      errors.push({
        file,
        line: r.action.at.line,
        field: `filter-actions.${r.action.name}.fallback-to-clear`,
        message:
          `expected no: rule ${r.name} uses peer ${r.peer.name} with remote = %any, which is never initiated to, ` +
          'so there is no silence to fall back on',
      });
    }
  }

  // IPv6 through the TUN needs a link MTU of at least 1280 (RFC 8200 §5): the kernel turns
  // IPv6 off on a smaller link, so the tunnel's IPv6 routes could never be added.
  if (gateway && gateway.mtu < 1280) {
    const seen = new Set<Filter>();
    for (const r of rules) {
      if (r.action.kind !== 'negotiate') continue;
      for (const f of r.filterList.filters) {
        const key = (['source', 'destination'] as const).find((k) => {
          const a = f[k];
          return (a.kind === 'host' || a.kind === 'subnet') && a.family === 6;
        });
        if (!key || seen.has(f)) continue;
        seen.add(f);
        errors.push({
          file,
          line: f.at.line,
          field: `filter-lists.${r.filterList.name}.${key}`,
          message: `IPv6 through the tunnel needs gateway.mtu of at least 1280 (RFC 8200 §5), it is ${gateway.mtu}`,
        });
      }
    }
  }

  for (const a of filterActions.values()) {
    if (a.kind !== 'negotiate' || !a.acceptUnsecured || a.acceptUnsecuredInterfaces.length > 0) continue;
    // Windows' "accept unsecured communication" assumes a trusted LAN; on an Internet-facing
    // gateway anyone who can send from the remote subnet's addresses gets in.
    warnings.push({
      file,
      line: a.at.line,
      field: `filter-actions.${a.name}.accept-unsecured`,
      message:
        'accepts unprotected traffic from the remote subnet on every interface: on an Internet-facing gateway ' +
        'spoofed packets get in; limit it with accept-unsecured-interfaces = LAN-INTERFACE',
    });
  }

  for (const [name, p] of peers) {
    if (!rules.some((r) => r.peer === p)) {
      warnings.push({ file, line: p.at.line, field: `peers.${name}`, message: 'no rule uses this peer; it will never be negotiated' });
    }
  }

  if (errors.length > 0 || !gateway) return { ok: false, errors: sortErrors(errors), warnings };
  const config: SitelinkConfig = { file, gateway, peers, filterLists, filterActions, rules };
  return { ok: true, config, warnings };
}

/**
 * Several `remote = %any` peers (many branches with dynamic addresses). Main mode
 * picks the peer from MM1, before any identity is seen, and with a pre-shared key
 * the key itself must be chosen then (RFC 2409 §5.4): so several are allowed only
 * with signature authentication, where the peer is settled by the identity in MM5
 * (ike-node.ts peerForIdentity). Until then the first one's main mode settings
 * answer, so all must share them, and their remote-ids must tell them apart.
 */
function checkRoamingPeers(roaming: Peer[], file: string, errors: ConfigError[]): void {
  if (roaming.length < 2) return;
  const first = roaming[0]!;
  const shared: [string, (p: Peer) => unknown][] = [
    ['local', (p) => p.localAddress],
    ['local-id', (p) => p.localId],
    ['auth', (p) => p.auth],
    ['proposals', (p) => p.keyExchange.methods],
    ['main-mode-lifetime', (p) => p.keyExchange.lifetimeSeconds],
    ['quick-mode-limit', (p) => p.keyExchange.quickModeLimit],
    ['master-key-pfs', (p) => p.keyExchange.masterKeyPfs],
    ['nat-traversal', (p) => p.natTraversal],
    ['allow-weak', (p) => p.allowWeak],
  ];
  for (const p of roaming) {
    if (p.auth.some((a) => a.kind === 'psk')) {
      errors.push({
        file,
        line: p.at.line,
        field: `peers.${p.name}.auth`,
        message:
          `expected rsa-sig or ecdsa-sig only: ${roaming.length} peers have remote = %any, and with a pre-shared key ` +
          'main mode must pick the peer before it sees an identity (RFC 2409 §5.4)',
      });
    }
  }
  roaming.forEach((p, i) => {
    if (i === 0) return;
    for (const [field, get] of shared) {
      if (JSON.stringify(get(p)) !== JSON.stringify(get(first))) {
        errors.push({
          file,
          line: p.at.line,
          field: `peers.${p.name}.${field}`,
          message:
            `expected the same ${field} as ${first.name}: ` +
            "peers with remote = %any share main mode settings until the peer's identity picks one",
        });
      }
    }
    const twin = roaming.slice(0, i).find((o) => JSON.stringify(o.remoteId) === JSON.stringify(p.remoteId));
    if (twin)
      errors.push({
        file,
        line: p.at.line,
        field: `peers.${p.name}.remote-id`,
        message: `expected a different identity: ${twin.name} (also remote = %any) has it`,
      });
  });
}

function sortErrors(e: ConfigError[]): ConfigError[] {
  return [...e].sort((a, b) => a.line - b.line);
}

// ---------------------------------------------------------------- gateway

function readGateway(r: SectionReader | null): GatewaySettings | null {
  const dflt: GatewaySettings = {
    id: null, listen: '::', ikePort: 500, nattPort: 4500,
    controlSocket: DEFAULTS.controlSocket, secretsFile: DEFAULTS.secretsFile,
    tun: 'sl0', mtu: 1400, cryptoBackend: 'auto', workers: 0, fragmentation: true,
    // The exchanges' own default (ike/exchange/types.ts): give-up after 2+4+...+64 = 126 s.
    retransmitTimeoutSeconds: 2, retransmitTries: 5,
    crlTimeoutSeconds: 10, crlRefreshSeconds: 3600,
    exemptions: [...DEFAULT_EXEMPTIONS],
    log: { file: DEFAULTS.logFile, syslog: true, level: 'info', maxKilobytes: DEFAULTS.logMaxKilobytes },
  };
  if (!r) return dflt;
  const ip = (s: string): Parsed<string> => (parseIp(s) ? { ok: true, value: s } : { ok: false, expected: `an IP address, got "${s}"` });
  const g: GatewaySettings = {
    id: r.get<PeerIdentity | null>('id', parseIdentity, null),
    listen: r.get('listen', ip, dflt.listen),
    ikePort: r.get('ike-port', (s) => parseUint(s, 1, 65535), 500),
    nattPort: r.get('natt-port', (s) => parseUint(s, 1, 65535), 4500),
    controlSocket: r.get('control-socket', path, dflt.controlSocket),
    secretsFile: r.get('secrets', path, dflt.secretsFile),
    tun: r.get('tun', ifName, 'sl0'),
    mtu: r.get('mtu', (s) => parseUint(s, 576, 9000), 1400),
    cryptoBackend: r.get('crypto-backend', (s) => oneOf(s, ['auto', 'afalg', 'openssl'] as const), 'auto'),
    workers: r.get('workers', (s) => parseUint(s, 0, 64), 0),
    fragmentation: r.get('fragmentation', parseBool, true),
    retransmitTimeoutSeconds: r.get('retransmit-timeout', (s) => {
      const d = parseDuration(s);
      return !d.ok || (d.value >= 1 && d.value <= 60) ? d : { ok: false, expected: `a duration of 1s to 60s, got "${s}"` };
    }, dflt.retransmitTimeoutSeconds),
    retransmitTries: r.get('retransmit-tries', (s) => parseUint(s, 1, 10), dflt.retransmitTries),
    crlTimeoutSeconds: r.get('crl-timeout', (s) => durationIn(s, 1, 60), dflt.crlTimeoutSeconds),
    crlRefreshSeconds: r.get('crl-refresh', (s) => durationIn(s, 60, 7 * 86400), dflt.crlRefreshSeconds),
    exemptions: readExemptions(r, dflt.exemptions),
    log: dflt.log,
  };
  const logSec = r.sub('log');
  if (logSec) {
    const l = new SectionReader(r.file, logSec, 'gateway.log', r.errors);
    g.log = {
      file: l.get('file', path, DEFAULTS.logFile),
      syslog: l.get('syslog', parseBool, true),
      level: l.get('level', (s) => oneOf(s, ['error', 'warning', 'info', 'debug'] as const), 'info'),
      maxKilobytes: l.get('max-size', parseLogSize, DEFAULTS.logMaxKilobytes),
    };
    l.finish();
  }
  r.finish();
  return g;
}

function durationIn(s: string, min: number, max: number): Parsed<number> {
  const d = parseDuration(s);
  return !d.ok || (d.value >= min && d.value <= max) ? d : { ok: false, expected: `a duration of ${min}s to ${max}s, got "${s}"` };
}

/** gateway.exemptions: a list of broadcast, multicast, dhcp; or `none`. */
function readExemptions(r: SectionReader, dflt: Exemption[]): Exemption[] {
  const v = r.value('exemptions');
  if (v === undefined) return dflt;
  if (v.items.length === 1 && v.items[0] === 'none') return [];
  const out: Exemption[] = [];
  for (const item of v.items) {
    const e = oneOf(item, DEFAULT_EXEMPTIONS);
    if (!e.ok) r.error(v.line, 'exemptions', `expected none or a list of broadcast, multicast, dhcp, got "${item}"`);
    else if (out.includes(e.value)) r.error(v.line, 'exemptions', `expected each kind once, "${item}" is given twice`);
    else out.push(e.value);
  }
  if (v.items.length === 0) r.error(v.line, 'exemptions', 'expected none or a list of broadcast, multicast, dhcp');
  return out;
}

/** log.max-size: 16 KB (a few hundred lines) to 1 GB. */
function parseLogSize(s: string): Parsed<number> {
  const v = parseKilobytes(s);
  if (!v.ok) return v;
  return v.value >= 16 && v.value <= 1024 * 1024 ? v : { ok: false, expected: `a size from 16kb to 1gb, got "${s}"` };
}

// ---------------------------------------------------------------- peers

/** Peer options that exist only in IKEv1, and why (validator: refused with version = 2). */
const V1_ONLY: readonly (readonly [string, string])[] = [
  ['mode', 'main or aggressive mode, RFC 2409 §5'],
  ['main-mode-lifetime', 'IKEv2 calls it the IKE SA lifetime: use ike-lifetime'],
  ['quick-mode-limit', 'quick modes per main mode, RFC 2409 §5.5'],
  ['master-key-pfs', 'a main mode per quick mode; IKEv2 has PFS per child SA'],
];

/** Peer options that exist only in IKEv2 (refused with version = 1). */
const V2_ONLY: readonly (readonly [string, string])[] = [
  ['ike-lifetime', 'the IKE SA lifetime; IKEv1 calls it main-mode-lifetime'],
  ['esn', 'extended sequence numbers are negotiated by IKEv2 here, RFC 7296 §3.3.2'],
  ['ppk', 'post-quantum preshared keys, RFC 8784'],
  ['ppk-required', 'post-quantum preshared keys, RFC 8784'],
  ['fragment-size', 'IKEv2 fragmentation, RFC 7383; IKEv1 fragmentation is the gateway fragmentation switch'],
];

function readPeer(r: SectionReader, gw: GatewaySettings | null, opts: ValidateOptions, warnings: ConfigError[]): Peer | null {
  const name = r.section.name;
  const allowWeak = r.get('allow-weak', parseBool, false);
  const remoteAddress = r.need(
    'remote',
    (v) => (v === '%any' ? { ok: true, value: ANY_REMOTE } : parseHostOrName(v)),
    'the remote gateway address (IP, DNS name, or %any for a peer with a dynamic address)',
  );
  // A roaming peer (dynamic address, e.g. a branch on a consumer line): we can only answer it.
  const roaming = remoteAddress === ANY_REMOTE;
  const localText = r.get('local', (s) => (s === '%any' || s === 'any' ? { ok: true, value: null } : parseHostOrName(s)), null as string | null);
  // Outer addresses: the IKE and NAT-T sockets bind gateway.listen; the wildcard `::`
  // (the default) takes both families, any other address only its own. A peer in a family
  // the sockets cannot reach would load and then never negotiate: refuse it here.
  const listen = gw?.listen ?? '::';
  const listenFam = listen === '::' ? null : (parseIp(listen)?.family ?? null);
  for (const [key, v] of [['remote', remoteAddress], ['local', localText]] as const) {
    const fam = v ? parseIp(v)?.family : undefined;
    if (fam !== undefined && listenFam !== null && fam !== listenFam)
      r.error(
        r.line(key),
        key,
        `expected an IPv${listenFam} address, got "${v}": gateway.listen = ${listen} takes IPv${listenFam} only (listen = :: takes both)`,
      );
  }
  const remoteFam = remoteAddress ? parseIp(remoteAddress)?.family : undefined;
  const localFam = localText ? parseIp(localText)?.family : undefined;
  if (remoteFam !== undefined && localFam !== undefined && remoteFam !== localFam)
    r.error(
      r.line('local'),
      'local',
      `expected an IPv${remoteFam} address like remote, got "${localText}": both ends of the outer path are one address family`,
    );
  const localId = r.get<PeerIdentity | null>('local-id', parseIdentity, gw?.id ?? (localText && parseIp(localText) ? idOf(localText) : null));
  if (!localId) r.error(r.section.line, 'local-id', 'missing; expected an identity (or set gateway.id, or an IP in local)');
  const remoteId = r.get<PeerIdentity | null>('remote-id', parseIdentity, remoteAddress && parseIp(remoteAddress) ? idOf(remoteAddress) : null);
  if (!remoteId && remoteAddress)
    r.error(r.section.line, 'remote-id', `missing; expected an identity (required when remote is ${roaming ? '%any' : 'a DNS name'})`);
  if (roaming && !(localText && parseIp(localText))) {
    // NAT-D (RFC 3947 §3.2) hashes our address, and with remote = %any there is no route to ask.
    r.error(r.line('local') || r.section.line, 'local', "expected this gateway's IP address: a peer with remote = %any is answered from it");
  }

  const ikeVersion = r.get<1 | 2>(
    'version',
    (s) => (s === '1' ? { ok: true, value: 1 } : s === '2' ? { ok: true, value: 2 } : { ok: false, expected: `1 or 2, got "${s}"` }),
    1,
  );
  // Options of the other version, each refused where it is written.
  for (const [key, why] of ikeVersion === 2 ? V1_ONLY : V2_ONLY) {
    if (!r.has(key)) continue;
    r.error(r.line(key), key, `IKEv${ikeVersion === 2 ? 1 : 2} only (${why}); remove it or set version = ${ikeVersion === 2 ? 1 : 2}`);
    r.value(key); // reported once, not again as an unknown key
  }
  const lifetimeKey = ikeVersion === 2 ? 'ike-lifetime' : 'main-mode-lifetime';
  const exchangeMode = r.get('mode', (s) => oneOf(s, ['main', 'aggressive'] as const), 'main');
  if (exchangeMode === 'aggressive' && !allowWeak) {
    r.error(r.line('mode'), 'mode', 'aggressive mode exposes the identity and a PSK hash to offline attack; refused unless allow-weak = yes');
  } else if (exchangeMode === 'aggressive') {
    // Refused outright rather than accepted and then skipped by the daemon.
    r.error(
      r.line('mode'),
      'mode',
      'expected main: sitelink does not implement aggressive mode (for several branches with dynamic addresses use remote = %any with certificates)',
    );
  }

  const auth = readAuth(r);
  const crl = readCrl(r, auth);
  const methods = readMainModeMethods(r, allowWeak);
  if (ikeVersion === 2) {
    if (!methods.some((m) => (m.encryption.startsWith('aes') || isAeadEncryption(m.encryption)) && m.integrity !== 'md5')) {
      r.error(
        r.line('proposals'),
        'proposals',
        'expected at least one AES proposal (CBC or GCM) or chacha20poly1305, with SHA-1/SHA-2: ' +
          'IKEv2 here does not do 3DES, DES or MD5 for the IKE SA',
      );
    }
  } else {
    // RFC 9370 additional key exchanges ride on IKE_INTERMEDIATE (RFC 9242): IKEv2 only.
    const addKe = methods.filter((m) => m.addKe !== undefined).map(formatMainModeMethod);
    if (addKe.length > 0)
      r.error(
        r.line('proposals'),
        'proposals',
        `IKEv2 only (${addKe.join(', ')}: additional key exchanges such as ML-KEM need IKE_INTERMEDIATE, RFC 9370); ` +
          'remove the -ke<n>_ parts or set version = 2',
      );
    const aead = methods.filter((m) => isAeadEncryption(m.encryption)).map(formatMainModeMethod);
    if (aead.length > 0)
      r.error(
        r.line('proposals'),
        'proposals',
        `IKEv2 only (${aead.join(', ')}: IKEv1 has no AEAD IKE SA cipher); use aes128/aes256 with sha256 or set version = 2`,
      );
  }

  // IKEv2 only (refused above with version = 1): RFC 8784 PPK and RFC 7383 fragment size.
  const parsePpkId = (s: string): Parsed<string> =>
    NAME_LIKE.test(s) ? { ok: true, value: s } : { ok: false, expected: `a PPK_ID (letters, digits, . _ - @ : /), got "${s}"` };
  const ppkId = ikeVersion === 2 ? r.get<string | null>('ppk', parsePpkId, null) : null;
  const ppkRequired = ikeVersion === 2 ? r.get('ppk-required', parseBool, false) : false;
  if (ikeVersion === 2 && ppkId === null && r.has('ppk-required'))
    r.error(r.line('ppk-required'), 'ppk-required', 'expected a ppk = <PPK_ID> line as well');
  const fragmentSize = ikeVersion === 2 ? r.get<number | null>('fragment-size', (s) => parseUint(s, 576, 65535), null) : null;
  for (const [key, id] of [['local-id', localId], ['remote-id', remoteId]] as const) {
    if (id?.kind === 'dn' && ikeVersion !== 2)
      r.error(r.line(key) || r.section.line, key, 'expected an IP address, fqdn or user@fqdn: dn: identities are IKEv2 only here (set version = 2)');
  }
  if ((localId?.kind === 'dn' || remoteId?.kind === 'dn') && ikeVersion === 2 && !auth.some((a) => a.kind !== 'psk')) {
    const key = localId?.kind === 'dn' ? 'local-id' : 'remote-id';
    r.error(r.line(key), key, 'a dn: identity needs certificate authentication (auth = rsa-sig or ecdsa-sig)');
  }

  const dpdDelay = r.get('dpd-delay', parseDuration, 30);
  const dpd: DpdSettings | null = dpdDelay === 0 ? null : {
    delaySeconds: dpdDelay,
    timeoutSeconds: r.get('dpd-timeout', parseDuration, 150),
    action: r.get('dpd-action', (s) => oneOf(s, ['clear', 'restart', 'hold'] as const), roaming ? 'clear' : 'restart'),
  };
  if (roaming && dpd?.action === 'restart')
    r.error(
      r.line('dpd-action'),
      'dpd-action',
      'expected clear or hold: a peer with remote = %any cannot be called back, it reconnects itself',
    );
  if (dpd && dpd.timeoutSeconds <= dpd.delaySeconds) {
    r.error(r.line('dpd-timeout'), 'dpd-timeout', `expected a timeout longer than dpd-delay (${dpd.delaySeconds}s)`);
  }
  if (!dpd) { r.value('dpd-timeout'); r.value('dpd-action'); }

  const peer: Peer = {
    name,
    remoteAddress: remoteAddress ?? '',
    localAddress: localText,
    localId: localId ?? { kind: 'fqdn', value: '' },
    remoteId: remoteId ?? { kind: 'fqdn', value: '' },
    ikeVersion,
    exchangeMode: 'main',
    auth,
    psk: null,
    crl,
    ppk: ppkId === null ? null : { id: ppkId, required: ppkRequired },
    ppkKey: null,
    fragmentSize,
    keyExchange: {
      methods,
      lifetimeSeconds: r.get(lifetimeKey, parseDuration, DEFAULTS.mainModeLifetimeSeconds),
      quickModeLimit: r.get('quick-mode-limit', (s) => parseUint(s, 0, 1_000_000), 0),
      masterKeyPfs: r.get('master-key-pfs', parseBool, false),
    },
    dpd,
    natTraversal: r.get('nat-traversal', (s) => oneOf(s, ['auto', 'force', 'off'] as const), 'auto'),
    keepaliveSeconds: r.get('keepalive', parseDuration, 20),
    start: r.get('start', (s) => oneOf(s, ['start', 'trap', 'none'] as const), roaming ? 'none' : 'trap'),
    allowWeak,
    esn: r.get('esn', (s) => oneOf(s, ['no', 'yes', 'either'] as const), 'no'),
    at: { file: r.file, line: r.section.line },
  };
  if (roaming && peer.start !== 'none')
    r.error(r.line('start'), 'start', 'expected none: a peer with remote = %any has no address to negotiate with; it starts the tunnel');
  if (peer.keyExchange.lifetimeSeconds < 60) {
    r.error(r.line(lifetimeKey), lifetimeKey, 'expected at least 60s');
  }

  if (auth.some((a) => a.kind === 'psk')) {
    if (opts.secrets === null) {
      warnings.push({ file: r.file, line: r.line('auth'), field: r.field('auth'), message: 'secrets file not read; the PSK was not checked' });
    } else {
      const psk = opts.secrets.get(peer.remoteId.value) ?? opts.secrets.get(name);
      if (!psk) {
        r.error(r.line('auth'), 'auth', `psk needs a secret for "${peer.remoteId.value}" (or "${name}") in the secrets file`);
      } else {
        peer.psk = psk;
        // Only the length is reported, never the key.
        if (psk.length < PSK_MIN_LENGTH)
          warnings.push({
            file: r.file,
            line: r.line('auth'),
            field: r.field('auth'),
            message:
              `the pre-shared key for "${peer.remoteId.value}" has ${psk.length} characters; ` +
              `use at least ${PSK_MIN_LENGTH} random characters (a short key falls to an offline guess from one main mode)`,
          });
      }
    }
  }
  if (peer.ppk && opts.secrets !== null) {
    const key = opts.secrets.get(`${PPK_PREFIX}${peer.ppk.id}`);
    if (!key) r.error(r.line('ppk'), 'ppk', `no PPK "${peer.ppk.id}" in the secrets file (ppk { ${peer.ppk.id} = <key of 32 bytes or more> })`);
    else peer.ppkKey = key;
  }
  r.finish();
  return remoteAddress && localId && remoteId ? peer : null;
}

function idOf(addr: string): PeerIdentity {
  return { kind: parseIp(addr)?.family === 6 ? 'ipv6' : 'ipv4', value: addr };
}

function readAuth(r: SectionReader): AuthMethod[] {
  const kinds = r.list<AuthMethod['kind']>('auth', (s) => oneOf(s, ['psk', 'rsa-sig', 'ecdsa-sig'] as const), ['psk']);
  const out: AuthMethod[] = [];
  if (new Set(kinds).size !== kinds.length) r.error(r.line('auth'), 'auth', 'expected each method at most once');
  // One certificate and key per peer: its key type decides between RSA and ECDSA.
  if (kinds.includes('rsa-sig') && kinds.includes('ecdsa-sig'))
    r.error(r.line('auth'), 'auth', 'expected rsa-sig or ecdsa-sig, not both: a peer has one certificate and private key');
  const needsCert = kinds.some((k) => k !== 'psk');
  // Relative paths are relative to the config file; a missing file is caught now, not at
  // the first negotiation.
  const pemFile = (s: string): Parsed<string> => {
    const full = resolve(dirname(r.file), s);
    return existsSync(full) ? { ok: true, value: full } : { ok: false, expected: `an existing PEM file, "${full}" does not exist` };
  };
  const certificate = needsCert ? r.need('certificate', pemFile, 'the local certificate file (PEM)') : undefined;
  const privateKey = needsCert ? r.need('private-key', pemFile, 'the private key file (PEM)') : undefined;
  const ca = needsCert ? r.need('ca', pemFile, 'the CA certificate that signs the peer (PEM)') : undefined;
  if (!needsCert) { r.value('certificate'); r.value('private-key'); r.value('ca'); }
  for (const k of kinds) {
    if (k === 'psk') out.push({ kind: 'psk' });
    else out.push({ kind: k, certificate: certificate ?? '', privateKey: privateKey ?? '', ca: ca ?? '' });
  }
  return out;
}

/** crl-check (0/1/2, default 1) and crl (files and http(s) URLs), certificates only;
 * level 2 needs a `crl` entry or a distribution point in the certificate or ca file. */
function readCrl(r: SectionReader, auth: AuthMethod[]): Peer['crl'] {
  const certs = auth.some((a) => a.kind !== 'psk');
  const level = r.get<0 | 1 | 2>(
    'crl-check',
    (s) => (s === '0' || s === '1' || s === '2' ? { ok: true, value: Number(s) as 0 | 1 | 2 } : { ok: false, expected: `0, 1 or 2, got "${s}"` }),
    1,
  );
  const sources = r.list('crl', (s) => {
    if (/^https?:\/\//i.test(s)) return /^https?:\/\/[^\s/]+/.test(s) ? { ok: true, value: s } : { ok: false, expected: `a URL with a host, got "${s}"` };
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return { ok: false, expected: `a file or an http:// or https:// URL, got "${s}" (LDAP distribution points are not fetched)` };
    const p = path(s);
    return p.ok ? { ok: true, value: resolve(dirname(r.file), s) } : p;
  }, []);
  for (const key of ['crl-check', 'crl']) {
    if (!certs && r.has(key)) r.error(r.line(key), key, 'only with auth = rsa-sig or ecdsa-sig (a pre-shared key has no certificate to revoke)');
  }
  // Level 2 needs somewhere to get a CRL from: the `crl` list, or the distribution
  // points our own certificate and the CA file name (the daemon fetches those before
  // the first negotiation; a peer certified by the same CA names the same point).
  if (certs && level === 2 && sources.length === 0) {
    const files = auth.flatMap((a) => (a.kind === 'psk' || !a.certificate || !a.ca ? [] : [a.certificate, a.ca]));
    if (files.length === 0 || distributionPointsOfPemFiles(files).length === 0)
      r.error(
        r.line('crl-check'),
        'crl-check',
        'level 2 refuses every certificate without a current CRL: give the CRL sources in crl (neither certificate nor ca names an http:// CRL distribution point)',
      );
  }
  return { level, sources };
}

function readMainModeMethods(r: SectionReader, allowWeak: boolean): MainModeMethod[] {
  const v = r.value('proposals');
  const items = v ? v.items : [...DEFAULTS.mainModeMethods];
  const out: MainModeMethod[] = [];
  for (const item of items) {
    const m = parseMainModeMethod(item);
    if (!m.ok) {
      r.error(v?.line ?? r.section.line, 'proposals', `expected ${m.expected}`);
      continue;
    }
    const weak = weaknessOf(m.value);
    if (weak && !allowWeak) {
      r.error(v?.line ?? r.section.line, 'proposals', `"${item}" ${weak}, refused unless allow-weak = yes`);
      continue;
    }
    out.push(m.value);
  }
  if (v && v.items.length === 0) r.error(v.line, 'proposals', 'expected at least one proposal');
  return out;
}

// ---------------------------------------------------------------- filters

function readFilterList(r: SectionReader): FilterList {
  const filters: Filter[] = [];
  for (const s of r.namedSections()) {
    const f = readFilter(new SectionReader(r.file, s, `${r.path}.${s.name}`, r.errors));
    if (f) filters.push(f);
  }
  if (filters.length === 0 && r.section.entries.length === 0) {
    r.error(r.section.line, '', 'expected at least one filter "name { source = ... destination = ... }"');
  }
  return { name: r.section.name, filters, at: { file: r.file, line: r.section.line } };
}

function readFilter(r: SectionReader): Filter | null {
  const source = r.need('source', parseAddressSpec, 'any, me, an address or a subnet');
  const destination = r.need('destination', parseAddressSpec, 'any, me, an address or a subnet');
  const protocol = r.get('protocol', parseProtocol, 0);
  const sourcePorts = r.list('source-ports', parsePortRange, []);
  const destinationPorts = r.list('destination-ports', parsePortRange, []);
  const mirrored = r.get('mirrored', parseBool, true);
  const description = r.get('description', text, '');
  r.finish();
  if ((sourcePorts.length > 0 || destinationPorts.length > 0) && protocol !== 6 && protocol !== 17 && protocol !== 132) {
    r.error(r.line(sourcePorts.length > 0 ? 'source-ports' : 'destination-ports'), 'protocol', 'ports need protocol = tcp, udp or sctp');
  }
  if (!source || !destination) return null;
  const fam = (a: typeof source) => (a.kind === 'host' || a.kind === 'subnet' ? a.family : null);
  const sf = fam(source);
  const df = fam(destination);
  if (sf !== null && df !== null && sf !== df) {
    r.error(r.line('destination'), 'destination', `expected an IPv${sf} address like the source, got IPv${df}`);
    return null;
  }
  if (source.kind === 'me' && destination.kind === 'me') {
    r.error(r.line('destination'), 'destination', 'source and destination cannot both be "me"');
    return null;
  }
  return { source, destination, protocol, sourcePorts, destinationPorts, mirrored, description, at: { file: r.file, line: r.section.line } };
}

function readFilterAction(r: SectionReader): FilterAction | null {
  const name = r.section.name;
  const at = { file: r.file, line: r.section.line };
  const kind = r.need('action', (s) => oneOf(s, ['permit', 'block', 'negotiate'] as const), 'permit, block or negotiate');
  if (kind === undefined) {
    r.finish();
    return null;
  }
  if (kind !== 'negotiate') {
    r.finish();
    return { kind, name, at };
  }
  const lifetimeSeconds = r.get('lifetime', parseDuration, DEFAULTS.espLifetimeSeconds);
  const lifetimeKilobytes = r.get('lifetime-kb', parseKilobytes, DEFAULTS.espLifetimeKilobytes);
  if (lifetimeSeconds < 60) r.error(r.line('lifetime'), 'lifetime', 'expected at least 60s');
  if (lifetimeKilobytes < 1024) r.error(r.line('lifetime-kb'), 'lifetime-kb', 'expected at least 1024 KB');
  // Each method may override the action's lifetimes: "aes256gcm16:8h:200000kb" (either part may be empty).
  const methods = r.list<SecurityMethod>('security-methods', (item) => parseSecurityMethod(item, lifetimeSeconds, lifetimeKilobytes),
    (['aes128gcm16', 'aes256gcm16', 'aes128-sha256'] as const).map((esp) => ({ esp, lifetimeSeconds, lifetimeKilobytes })));
  const allowWeak = r.get('allow-weak', parseBool, false);
  const pfs = r.get('pfs', parsePfs, { group: 14 as DhGroup, addKe: [] });
  const pfsGroup = pfs?.group ?? null;
  if (pfsGroup !== null && WEAK_DH.has(pfsGroup) && !allowWeak) {
    r.error(r.line('pfs'), 'pfs', `"${DH_NAME[pfsGroup]}" uses DH group 1, refused unless allow-weak = yes`);
  }
  const action: FilterAction = {
    kind: 'negotiate',
    name,
    securityMethods: methods,
    pfsGroup,
    ...(pfs && pfs.addKe.length > 0 ? { pfsAddKe: pfs.addKe } : {}),
    fallbackToClear: r.get('fallback-to-clear', parseBool, false),
    acceptUnsecured: r.get('accept-unsecured', parseBool, false),
    acceptUnsecuredInterfaces: r.list('accept-unsecured-interfaces', ifName, []),
    defaultResponse: r.get('default-response', parseBool, false),
    at,
  };
  if (action.acceptUnsecuredInterfaces.length > 0 && !action.acceptUnsecured)
    r.error(r.line('accept-unsecured-interfaces'), 'accept-unsecured-interfaces', 'only with accept-unsecured = yes');
  r.finish();
  return action;
}

const ifName = (s: string): Parsed<string> =>
  /^[A-Za-z0-9_.-]{1,15}$/.test(s) ? { ok: true, value: s } : { ok: false, expected: `an interface name of at most 15 characters, got "${s}"` };

function readRule(
  r: SectionReader, peers: Map<string, Peer>, lists: Map<string, FilterList>, actions: Map<string, FilterAction>,
): Rule | null {
  const ref = <T>(key: string, table: Map<string, T>, what: string): T | undefined => {
    const v = r.value(key);
    if (!v) {
      r.error(r.section.line, key, `missing; expected the name of a ${what}`);
      return undefined;
    }
    const found = table.get(v.value);
    if (found === undefined) {
      const names = [...table.keys()];
      r.error(v.line, key, `"${v.value}" is not a ${what}; expected one of: ${names.length ? names.join(', ') : '(none defined)'}`);
    }
    return found;
  };
  const filterList = ref('filters', lists, 'filter list in filter-lists');
  const action = ref('action', actions, 'filter action in filter-actions');
  let peer: Peer | null = null;
  if (action?.kind === 'negotiate') {
    peer = ref('peer', peers, 'peer in peers') ?? null;
  } else if (r.value('peer')) {
    r.error(r.line('peer'), 'peer', `a ${action?.kind ?? 'permit/block'} rule has no tunnel endpoint; remove peer`);
  }
  r.finish();
  if (!filterList || !action || (action.kind === 'negotiate' && !peer)) return null;
  return { name: r.section.name, filterList, action, peer, mode: 'tunnel', at: { file: r.file, line: r.section.line } };
}

function parseSecurityMethod(item: string, dfltSeconds: number, dfltKb: number): Parsed<SecurityMethod> {
  const [alg = '', life = '', kb = '', ...extra] = item.split(':');
  if (extra.length > 0) return { ok: false, expected: `algorithm[:lifetime[:kilobytes]] such as aes256gcm16:8h:200000kb, got "${item}"` };
  const esp = parseEspAlgorithm(alg);
  if (!esp.ok) return esp;
  const seconds = life === '' ? { ok: true as const, value: dfltSeconds } : parseDuration(life);
  if (!seconds.ok) return { ok: false, expected: `${seconds.expected} in "${item}"` };
  const kilobytes = kb === '' ? { ok: true as const, value: dfltKb } : parseKilobytes(kb);
  if (!kilobytes.ok) return { ok: false, expected: `${kilobytes.expected} in "${item}"` };
  if (seconds.value < 60 || kilobytes.value < 1024) return { ok: false, expected: `lifetimes of at least 60s and 1024 KB in "${item}"` };
  return { ok: true, value: { esp: esp.value, lifetimeSeconds: seconds.value, lifetimeKilobytes: kilobytes.value } };
}
