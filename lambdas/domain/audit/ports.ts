import type { Page } from '../../ports.ts';
import type { IotCertificate } from '../identity/ports.ts';
import type { StoredFinding } from './findings.ts';
import type { AuditedDevice } from './model.ts';

/**
 * What the audit needs from the outside world: the devices to audit a page at a time (the registry),
 * IoT's registry of their certificates, and the findings table it writes and the API reads.
 */

/** The registry, a page at a time, in a stable order a cursor can resume. */
export interface AuditDevices {
  page(limit: number, nextToken?: string): Promise<Page<AuditedDevice>>;
}

/** The read-only registry calls the audit makes (DescribeCertificate, the List* of attachments). */
export interface IotInspector {
  /** ListThingPrincipals: ARNs of the certificates attached to the thing ([] when there is no thing). */
  thingPrincipals(thingName: string): Promise<readonly string[]>;
  describeCertificate(certificateId: string): Promise<IotCertificate | undefined>;
  /** ListPrincipalThings. */
  principalThings(certificateArn: string): Promise<readonly string[]>;
  /** ListAttachedPolicies: policy names. */
  attachedPolicies(certificateArn: string): Promise<readonly string[]>;
}

/** Where a scheduled audit is in its pass over the fleet. */
export interface AuditState {
  /** The registry page to continue from; absent at the start of a pass. */
  readonly cursor?: string;
  readonly passStartedAt: number;
  /** Devices audited in the pass so far. */
  readonly devicesThisPass: number;
  readonly lastPassCompletedAt?: number;
  /** Devices the last complete pass audited. */
  readonly lastPassDevices?: number;
  readonly lastRunAt: number;
}

/** What a findings query selects. */
export interface FindingQuery {
  readonly check?: string;
  readonly deviceId?: string;
  readonly limit: number;
  readonly nextToken?: string;
}

/** The findings table. */
export interface FindingStore {
  forDevice(deviceId: string): Promise<readonly StoredFinding[]>;
  put(finding: StoredFinding): Promise<void>;
  remove(deviceId: string, findingId: string): Promise<void>;
  /** Findings of one device, of one check, or of every check in turn: index queries, never a scan. */
  list(query: FindingQuery): Promise<Page<StoredFinding>>;
  state(): Promise<AuditState | undefined>;
  saveState(state: AuditState): Promise<void>;
}
