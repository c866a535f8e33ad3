import { auditDevice } from '../domain/audit/checks.ts';
import { planFindings, type StoredFinding } from '../domain/audit/findings.ts';
import type {
  AttachedCertificate,
  AuditCheck,
  AuditedDevice,
  AuditFactKind,
  AuditSettings,
  DeviceAuditFacts,
} from '../domain/audit/model.ts';
import type {
  AuditDevices,
  AuditState,
  FindingQuery,
  FindingStore,
  IotInspector,
} from '../domain/audit/ports.ts';
import type { CertificateStore } from '../domain/identity/ports.ts';

const DAY_MS = 86_400_000;

export interface FleetAuditProps {
  readonly devices: AuditDevices;
  readonly certificates: Pick<CertificateStore, 'forDevice' | 'countActiveExpiringBefore'>;
  readonly iot: IotInspector;
  readonly findings: FindingStore;
  readonly checks: readonly AuditCheck[];
  readonly settings: Omit<AuditSettings, 'now'>;
  /** Devices audited per run: the run's bounded share of the pass. */
  readonly devicesPerRun: number;
  /** Devices audited at once (IoT registry calls in flight). @default 4 */
  readonly concurrency?: number;
  /** How long a finding lives without being found again (TTL). */
  readonly findingTtlMs: number;
  readonly now: () => number;
}

/** What one scheduled run did. */
export interface AuditRunResult {
  readonly audited: number;
  /** Findings of the devices audited in this run. */
  readonly found: number;
  /** Stored findings no longer found (fixed). */
  readonly resolved: number;
  readonly passCompleted: boolean;
  /** ACTIVE certificates of the fleet expiring within the expiry window: the alarm's metric. */
  readonly expiringCertificates: number;
}

/** What `GET /audit` answers. */
export interface AuditReport {
  readonly state?: AuditState;
  readonly checks: ReadonlyArray<{ id: string; severity: string; description: string }>;
  readonly findings: readonly StoredFinding[];
  readonly nextToken?: string;
}

/**
 * The fleet audit, after Device Defender's scheduled audits: a run audits the next `devicesPerRun`
 * devices of the registry (a page of a scan whose cursor is kept between runs, so a run's work is bounded
 * and the fleet is covered pass after pass), evaluates every check on each, and replaces the device's
 * findings in the findings table. `GET /audit` ({@link auditReport}) reads that table by its keys and its
 * `byCheck` index, never by a scan: findings are as fresh as the device's last visit. Each run also counts the fleet's ACTIVE
 * certificates expiring soon from the certificates table's `active` index (the expiry alarm's metric).
 */
export class FleetAudit {
  private readonly needs: ReadonlySet<AuditFactKind>;

  constructor(private readonly props: FleetAuditProps) {
    this.needs = new Set(props.checks.flatMap((check) => check.needs));
  }

  async run(): Promise<AuditRunResult> {
    const { devices, findings, devicesPerRun } = this.props;
    const now = this.props.now();
    const state = (await findings.state()) ?? { passStartedAt: now, devicesThisPass: 0, lastRunAt: now };
    const page = await devices.page(devicesPerRun, state.cursor);
    let found = 0;
    let resolved = 0;
    const concurrency = this.props.concurrency ?? 4;
    for (let i = 0; i < page.items.length; i += concurrency) {
      const outcomes = await Promise.all(
        page.items.slice(i, i + concurrency).map((device) => this.auditOne(device, now)),
      );
      for (const outcome of outcomes) {
        found += outcome.found;
        resolved += outcome.resolved;
      }
    }
    const audited = state.devicesThisPass + page.items.length;
    const passCompleted = page.nextToken === undefined;
    await findings.saveState(
      passCompleted
        ? {
            passStartedAt: now,
            devicesThisPass: 0,
            lastPassCompletedAt: now,
            lastPassDevices: audited,
            lastRunAt: now,
          }
        : {
            ...state,
            cursor: page.nextToken,
            devicesThisPass: audited,
            lastRunAt: now,
          },
    );
    const expiringCertificates = await this.props.certificates.countActiveExpiringBefore(
      now + this.props.settings.expiryDays * DAY_MS,
    );
    return { audited: page.items.length, found, resolved, passCompleted, expiringCertificates };
  }

  private async auditOne(device: AuditedDevice, now: number): Promise<{ found: number; resolved: number }> {
    const { findings, checks, settings, findingTtlMs } = this.props;
    const facts = await this.facts(device);
    const plan = planFindings(
      await findings.forDevice(device.deviceId),
      auditDevice(checks, facts, { ...settings, now }),
      now,
      findingTtlMs,
    );
    for (const finding of plan.put) await findings.put(finding);
    for (const findingId of plan.remove) await findings.remove(device.deviceId, findingId);
    return { found: plan.put.length, resolved: plan.remove.length };
  }

  /** The facts the checks need, and no more (IoT's registry costs calls). */
  private async facts(device: AuditedDevice): Promise<DeviceAuditFacts> {
    const [certificates, attached] = await Promise.all([
      this.needs.has('certificates') ? this.props.certificates.forDevice(device.deviceId) : undefined,
      this.needs.has('iot') ? this.attached(device.deviceId) : undefined,
    ]);
    return {
      device,
      ...(certificates === undefined ? {} : { certificates }),
      ...(attached === undefined ? {} : { attached }),
    };
  }

  private async attached(thingName: string): Promise<AttachedCertificate[]> {
    const { iot } = this.props;
    const attached: AttachedCertificate[] = [];
    for (const arn of await iot.thingPrincipals(thingName)) {
      const certificateId = arn.slice(arn.lastIndexOf('/') + 1);
      const [described, things, policies] = await Promise.all([
        iot.describeCertificate(certificateId),
        iot.principalThings(arn),
        iot.attachedPolicies(arn),
      ]);
      attached.push({
        certificateId,
        certificateArn: arn,
        status: described?.status ?? 'UNKNOWN',
        things,
        policies,
      });
    }
    return attached;
  }
}

/** What `GET /audit` answers: where the audit is, its checks, and a page of findings. */
export async function auditReport(
  findings: FindingStore,
  checks: readonly AuditCheck[],
  query: FindingQuery,
): Promise<AuditReport> {
  const [state, page] = await Promise.all([findings.state(), findings.list(query)]);
  return {
    ...(state === undefined ? {} : { state }),
    checks: checks.map(({ id, severity, description }) => ({ id, severity, description })),
    findings: page.items,
    ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }),
  };
}
