// Where an IKEv2 peer went silent when retransmission gives up (RFC 7296 §2.4),
// for the failure record `sitelinkctl explain` renders (the same stages as IKEv1,
// log/failure-record.ts SilentStage): no answer to IKE_SA_INIT (address, ports,
// peer down); IKE_SA_INIT answered but not our encrypted IKE_AUTH (the key or the
// identity; a large IKE_AUTH can also be lost as IP fragments); no answer on an
// established IKE SA (the peer is gone).

import type { FailureRecord } from '../../../log/failure-record.ts';
import { authConfigLines } from '../../common/config-lines.ts';
import { describeIdentity } from '../../exchange/identity.ts';
import type { IkeSaV2, RequestPurpose } from './state.ts';

export type Silence = Partial<Pick<FailureRecord, 'silentAt' | 'unanswered' | 'lastAnswered' | 'configLines' | 'expectedId'>>;

const REQUEST_NAMES: Record<RequestPurpose['kind'], string> = {
  'sa-init': 'IKE_SA_INIT (our proposals and key exchange)',
  intermediate: 'IKE_INTERMEDIATE (an additional key exchange such as ML-KEM, RFC 9370; over 1 KB, so fragmented)',
  auth: 'IKE_AUTH (our identity and authentication, encrypted)',
  'create-child': 'CREATE_CHILD_SA (a new child SA)',
  'rekey-child': 'CREATE_CHILD_SA (a child SA rekey)',
  'rekey-ike': 'CREATE_CHILD_SA (an IKE SA rekey)',
  'followup-ke': 'IKE_FOLLOWUP_KE (an additional key exchange of a rekey such as ML-KEM, RFC 9370 §2.2.2; over 1 KB, so fragmented)',
  dpd: 'INFORMATIONAL (liveness check)',
  'delete-child': 'INFORMATIONAL (Delete of a child SA)',
  'delete-ike': 'INFORMATIONAL (Delete of the IKE SA)',
};

export function ikeV2Silence(sa: IkeSaV2, purpose: RequestPurpose): Silence {
  const unanswered = REQUEST_NAMES[purpose.kind];
  const remote = `peers.${sa.peer.name}.remote = ${sa.peer.remoteAddress}`;
  if (purpose.kind === 'intermediate')
    return { silentAt: 'authentication', unanswered, lastAnswered: 'IKE_SA_INIT', configLines: [remote, `peers.${sa.peer.name}.proposals`] };
  if (sa.state === 'INIT_SENT') return { silentAt: 'first-message', unanswered, configLines: [remote] };
  if (sa.state === 'AUTH_SENT') {
    return {
      silentAt: 'authentication',
      unanswered,
      lastAnswered: 'IKE_SA_INIT',
      expectedId: describeIdentity(sa.peer.remoteId),
      configLines: authConfigLines(sa.peer, undefined),
    };
  }
  return { silentAt: 'established', unanswered, configLines: [remote] };
}
