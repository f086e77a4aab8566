/**
 * The daemon's record of the last failed negotiation with a peer, filled by the IKE
 * code and rendered in plain words by `sitelinkctl explain <peer>` (ctl/render-explain.ts).
 * Proposals are written as in sitelink.conf: main mode "aes256-sha256-modp2048",
 * quick mode "aes128gcm16" or "aes128gcm16/modp2048" when the offer carried PFS.
 */

export type FailureReason =
  /** No proposal acceptable to the responder (RFC 2408 §3.14.1 NO-PROPOSAL-CHOSEN). */
  | 'no-proposal-chosen'
  /** HASH/signature did not verify: usually different PSKs (RFC 2409 §5). */
  | 'authentication-failed'
  /** Peer identity (ID payload) not the one configured. */
  | 'id-mismatch'
  /** Quick mode proxy identities (traffic selectors) not covered by our filters. */
  | 'ts-mismatch'
  /** Quick mode PFS group offered vs required differ. */
  | 'pfs-mismatch'
  /** IKEv2 INVALID_KE_PAYLOAD (RFC 7296 §1.2, §1.3): the peer wants a DH group we do not have. */
  | 'dh-group-mismatch'
  /** No answer to our message within the retransmission schedule. */
  | 'timeout'
  /** Malformed or unexpected message (wrong exchange, bad payload). */
  | 'invalid-message'
  | 'other';

export interface ExchangeStep {
  /** Who sent this message. */
  from: 'local' | 'remote';
  /** E.g. "MM1 (SA: 3 proposals)", "QM1", "INFORMATIONAL". */
  message: string;
  /** Notify type when the message was a notification, e.g. "NO-PROPOSAL-CHOSEN". */
  notify?: string;
}

export interface FailureRecord {
  peer: string;
  /** IKE version of the negotiation (absent in records of older daemons: IKEv1). */
  version?: 1 | 2;
  /** IKEv2: the error notify that ended it, sent or received (RFC 7296 §3.10.1), e.g. "TS_UNACCEPTABLE". */
  notify?: string;
  /** ISO 8601 time of the failure. */
  time: string;
  phase: 'main' | 'quick';
  role: 'initiator' | 'responder';
  reason: FailureReason;
  /** Messages in order, as we saw them. */
  exchange: ExchangeStep[];
  /** Proposals the initiator offered (ours when role = initiator). */
  offered: string[];
  /** Proposals our configuration accepts for this phase. */
  acceptable: string[];
  /** Config field that decides this phase, e.g. "peers.hq.proposals". */
  configField?: string;
  /** For id-mismatch: what the peer sent and what we expected. */
  receivedId?: string;
  expectedId?: string;
  /** For ts-mismatch: the peer's proxy identities and our selectors (CIDR text). */
  offeredSelectors?: { local: string; remote: string }[];
  acceptableSelectors?: { local: string; remote: string }[];
  /** For pfs-mismatch. */
  offeredPfs?: string | null;
  requiredPfs?: string | null;
  /** For dh-group-mismatch: the group the peer asked for and the ones we have. */
  askedGroup?: string;
  configuredGroups?: string[];
  /** For timeout: seconds waited and the address tried. */
  waitedSeconds?: number;
  remoteAddress?: string;
  /** Free text from the IKE code (never key material: it passes the redactor). */
  detail?: string;
  /** Timeouts: where the peer went silent, in IKE-version neutral terms (no answer to
   * the first message; to our encrypted identity/auth message; to a quick mode / child
   * SA request; to liveness checks on an established SA). */
  silentAt?: SilentStage;
  /** Timeouts: our message the peer never answered, e.g. "MM5 (identity and hash)". */
  unanswered?: string;
  /** Timeouts: the last of our messages the peer did answer, e.g. "MM3 (answered by
   * MM4)"; absent when it answered nothing. */
  lastAnswered?: string;
  /** Config lines to check, most likely cause first, as "field = value" (values are
   * never secrets: the secrets file is named by its entry only). */
  configLines?: string[];
}

export type SilentStage = 'first-message' | 'authentication' | 'child-sa' | 'established';
