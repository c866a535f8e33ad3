import type {
  ProvisionDeviceRequest,
  ProvisionDeviceResponse,
  RevokeDeviceRequest,
  RotateDevicesRequest,
} from '../../lib/protocol/identity.ts';
import { identityTopic } from '../../lib/protocol/identity-topics.ts';
import { type CertificateFacts, planProvisioning, planRevocation } from '../domain/identity/decisions.ts';
import { IdentityRefusedError } from '../domain/identity/errors.ts';
import type {
  CertificateRecord,
  CertificateStore,
  DeviceIdentityRecords,
  ThingRegistry,
} from '../domain/identity/ports.ts';
import type { Publisher } from '../ports.ts';
import { InvalidCsrError, inspectCertificate, inspectCsr } from '../shared/x509.ts';

/** Where devices connect, and the CA they trust for it. */
export interface DeviceEndpoint {
  /** `mqtts://<host>:8883`. */
  readonly url: string;
  readonly caPem?: string;
  readonly caUrl?: string;
}

export interface IdentityServiceProps {
  readonly things: ThingRegistry;
  readonly certificates: CertificateStore;
  readonly devices: DeviceIdentityRecords;
  readonly publisher: Publisher;
  readonly endpoint: DeviceEndpoint;
  readonly now: () => number;
}

/**
 * Device identity for operators: provisioning one device by its CSR, revocation, and asking devices
 * to rotate.
 *
 * Design. Identity lives where IoT Core enforces it — a thing of a thing type, certificates attached
 * to it `EXCLUSIVE_THING`, the device policy attached to each certificate — and fleetkit records what
 * it did in the certificates table (status, validity, when provisioned, activated, confirmed,
 * deactivated, revoked, deleted) and in the registry item (current certificate, provisioned,
 * last rotated, rotation requested): what the audit reads. There are no transactions across IoT and
 * DynamoDB, so every step is idempotent and ordered so that a repeat finishes a half-done request:
 * the certificate is recorded right after it is made (a repeat finds it by the CSR's key instead of
 * making another), attachments are repeated harmlessly, and the registry item is written last.
 * Refusals are {@link IdentityRefusedError}s decided by the pure functions of
 * `domain/identity/decisions.ts`.
 *
 * Rotation itself is the device's (`identity-requests.ts`): CreateCertificateFromCsr over MQTT,
 * `identity/activate` on the old certificate, reconnect, `identity/confirm` on the new one; only the
 * confirmation retires the old certificate, and the certificate sweeper deletes it after a grace
 * period.
 */
export class IdentityService {
  constructor(private readonly props: IdentityServiceProps) {}

  /**
   * Admits a device: thing (of its type), a certificate from its CSR, the device policy, the
   * attachment, the registry item. Repeating the request answers with the same certificate.
   *
   * @throws IdentityRefusedError InvalidCsr, UnknownThingType, ThingTypeConflict, ThingHasCertificate,
   *   CertificateState
   */
  async provision(request: ProvisionDeviceRequest): Promise<ProvisionDeviceResponse> {
    const { things, certificates, devices, now } = this.props;
    const { thingName, thingType } = request;
    const csr = await inspectCsr(request.csr).catch((error: unknown) => {
      if (error instanceof InvalidCsrError) throw new IdentityRefusedError('InvalidCsr', error.message);
      throw error;
    });
    if ((await things.describeThingType(thingType)) === undefined) {
      throw new IdentityRefusedError(
        'UnknownThingType',
        `'${thingType}' is not one of this deployment's device types (the topology's deviceTypes)`,
      );
    }
    const thing = await things.describeThing(thingName);
    const plan = planProvisioning({
      thingName,
      thingType,
      thing,
      csr,
      attached: thing === undefined ? [] : await this.attachedCertificates(thingName),
      records: await certificates.forDevice(thingName),
    });
    if (thing === undefined) await things.createThing(thingName, thingType);
    let record: CertificateRecord;
    let certificatePem: string;
    if (plan.kind === 'create') {
      const made = await things.createCertificateFromCsr(request.csr);
      const info = inspectCertificate(made.certificatePem);
      certificatePem = made.certificatePem;
      record = {
        deviceId: thingName,
        certificateId: made.certificateId,
        certificateArn: made.certificateArn,
        deviceType: thingType,
        status: 'ACTIVE',
        origin: 'provisioned',
        publicKeySha256: info.publicKeySha256,
        notBefore: info.notBefore,
        notAfter: info.notAfter,
        createdAt: now(),
      };
      // Recorded before anything is attached: a repeat after a failure below resumes with it.
      await certificates.put(record);
    } else {
      record = plan.record;
      const described = await things.describeCertificate(record.certificateId);
      if (described === undefined) {
        throw new IdentityRefusedError(
          'CertificateState',
          `certificate ${record.certificateId} no longer exists`,
        );
      }
      certificatePem = described.certificatePem;
    }
    await things.attachDevicePolicy(record.certificateArn);
    await things.attachToThing(thingName, record.certificateArn);
    const at = now();
    if (record.activatedAt === undefined || record.confirmedAt === undefined) {
      record = { ...record, activatedAt: record.activatedAt ?? at, confirmedAt: record.confirmedAt ?? at };
      await certificates.put(record);
    }
    await devices.recordProvisioned(thingName, {
      deviceType: thingType,
      certificateId: record.certificateId,
      provisionedAt: at,
    });
    const { endpoint } = this.props;
    return {
      thingName,
      thingType,
      certificateId: record.certificateId,
      certificateArn: record.certificateArn,
      certificatePem,
      notAfter: new Date(record.notAfter).toISOString(),
      endpoint: endpoint.url,
      ...(endpoint.caPem === undefined ? {} : { caPem: endpoint.caPem }),
      ...(endpoint.caUrl === undefined ? {} : { caUrl: endpoint.caUrl }),
    };
  }

  /** The thing's attached certificates as IoT holds them, with what their PEMs say. */
  private async attachedCertificates(thingName: string): Promise<CertificateFacts[]> {
    const facts: CertificateFacts[] = [];
    for (const arn of await this.props.things.thingPrincipals(thingName)) {
      const cert = await this.props.things.describeCertificate(arn.slice(arn.lastIndexOf('/') + 1));
      if (cert === undefined) continue;
      const info = inspectCertificate(cert.certificatePem);
      facts.push({
        ...info,
        certificateId: cert.certificateId,
        certificateArn: cert.certificateArn,
        status: cert.status,
      });
    }
    return facts;
  }

  /**
   * Revokes a device's certificates (or one): REVOKED in IoT — which disconnects the devices using it
   * and refuses them from then on — then detached from the thing and the device policy, then recorded.
   *
   * @returns the certificates revoked now (none when repeated)
   * @throws IdentityRefusedError UnknownDevice, UnknownCertificate, CertificateState
   */
  async revoke(
    deviceId: string,
    request: RevokeDeviceRequest,
  ): Promise<{ deviceId: string; revoked: string[] }> {
    const { things, certificates, now } = this.props;
    const revoked = planRevocation({
      deviceId,
      records: await certificates.forDevice(deviceId),
      now: now(),
      ...(request.certificateId === undefined ? {} : { certificateId: request.certificateId }),
      ...(request.reason === undefined ? {} : { reason: request.reason }),
    });
    for (const record of revoked) {
      await things.updateCertificateStatus(record.certificateId, 'REVOKED');
      await things.detachFromThing(deviceId, record.certificateArn);
      await things.detachDevicePolicy(record.certificateArn);
      await certificates.put(record);
    }
    return { deviceId, revoked: revoked.map((r) => r.certificateId) };
  }

  /**
   * Asks devices to rotate now: marks the request on each registered device (it sees it on its next
   * `identity/get`, made on every connection) and notifies those online on `identity/notify`.
   *
   * @returns the devices asked, and the ids that are not registered
   */
  async requestRotation(request: RotateDevicesRequest): Promise<{ requested: string[]; unknown: string[] }> {
    const { devices, publisher, now } = this.props;
    const ids = new Set(request.deviceIds ?? []);
    if (request.deviceType !== undefined) {
      let token: string | undefined;
      do {
        const page = await devices.idsOfType(request.deviceType, token);
        for (const id of page.ids) ids.add(id);
        token = page.nextToken;
      } while (token !== undefined);
    }
    const requested: string[] = [];
    const unknown: string[] = [];
    const at = now();
    for (const id of ids) {
      if (!(await devices.requestRotation(id, at))) {
        unknown.push(id);
        continue;
      }
      requested.push(id);
      await publisher.publish(
        identityTopic({ thingName: id, operation: 'notify' }),
        JSON.stringify({ rotationRequested: true, requestedAt: at }),
      );
    }
    return { requested, unknown };
  }
}
