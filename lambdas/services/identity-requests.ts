import { PayloadDecodeError, SchemaValidationError } from '../../lib/protocol/errors.ts';
import {
  type IdentityRejected,
  identityActivateRequest,
  identityConfirmRequest,
  identityGetRequest,
} from '../../lib/protocol/identity.ts';
import { type IdentityOperation, identityTopic } from '../../lib/protocol/identity-topics.ts';
import { decodeJson, parseWith } from '../../lib/protocol/parse.ts';
import { planActivation, planAdoption, planConfirmation } from '../domain/identity/decisions.ts';
import { IdentityRefusedError } from '../domain/identity/errors.ts';
import type { CertificateStore, DeviceIdentityRecords, ThingRegistry } from '../domain/identity/ports.ts';
import type { Publisher } from '../ports.ts';
import { inspectCertificate } from '../shared/x509.ts';

export interface IdentityRequestsProps {
  readonly things: ThingRegistry;
  readonly certificates: CertificateStore;
  readonly devices: DeviceIdentityRecords;
  readonly publisher: Publisher;
  /** How long a retired certificate stays (INACTIVE, attached) before the sweeper deletes it. */
  readonly graceMs: number;
  readonly now: () => number;
}

/** One request from a device: its topic's thing and operation, the payload, the certificate it came on. */
export interface IdentityRequest {
  readonly thingName: string;
  readonly operation: IdentityOperation;
  readonly payload: Uint8Array;
  /** The certificate id of the connection (`principal()`). */
  readonly principal: string;
}

function rejectionCode(error: IdentityRefusedError): IdentityRejected['code'] {
  if (error.status === 404) return 'NotFound';
  if (error.status === 403) return 'Forbidden';
  if (error.status === 409) return 'Conflict';
  return 'InvalidRequest';
}

/**
 * A device's identity requests over MQTT, each answered on its `/accepted` or `/rejected` topic:
 *
 * - `identity/get`: the certificate the platform counts as current, and whether an operator asked for
 *   a rotation. Devices ask on every connection, so a request made while they were offline reaches them.
 * - `identity/activate` (on the current certificate): a certificate from CreateCertificateFromCsr,
 *   PENDING_ACTIVATION and for this thing (CN), becomes ACTIVE with the device policy, attached to the
 *   thing next to the current one. Both work until the device confirms.
 * - `identity/confirm` (on the new certificate, once connected with it): the other certificates become
 *   INACTIVE (IoT disconnects what still uses them) and are deleted after the grace period by the
 *   certificate sweeper; the registry records the rotation and clears the operator's request.
 *
 * Each step is idempotent, and a repeated request finishes a half-done one.
 */
export class IdentityRequests {
  constructor(private readonly props: IdentityRequestsProps) {}

  async handle(request: IdentityRequest): Promise<{ accepted: boolean; code?: string }> {
    const { thingName, operation } = request;
    let clientToken: string | undefined;
    try {
      const body = decodeJson(request.payload, `identity ${operation} request`);
      const answer = await this.dispatch(request, body, (token) => {
        clientToken = token;
      });
      await this.reply(thingName, operation, 'accepted', {
        ...answer,
        ...(clientToken ? { clientToken } : {}),
      });
      return { accepted: true };
    } catch (error) {
      let rejected: IdentityRejected;
      if (error instanceof IdentityRefusedError)
        rejected = { code: rejectionCode(error), message: error.message };
      else if (error instanceof SchemaValidationError || error instanceof PayloadDecodeError)
        rejected = { code: 'InvalidRequest', message: error.message };
      else throw error;
      await this.reply(thingName, operation, 'rejected', {
        ...rejected,
        ...(clientToken ? { clientToken } : {}),
      });
      return { accepted: false, code: rejected.code };
    }
  }

  private async reply(
    thingName: string,
    operation: IdentityOperation,
    suffix: 'accepted' | 'rejected',
    body: object,
  ) {
    await this.props.publisher.publish(identityTopic({ thingName, operation, suffix }), JSON.stringify(body));
  }

  private async dispatch(
    request: IdentityRequest,
    body: unknown,
    token: (t: string | undefined) => void,
  ): Promise<object> {
    const { thingName } = request;
    if (request.operation === 'get') {
      token(parseWith(identityGetRequest, body, 'identity get request').clientToken);
      await this.adopt(thingName, request.principal);
      const device = await this.props.devices.get(thingName);
      return {
        ...(device?.certificateId === undefined ? {} : { certificateId: device.certificateId }),
        rotationRequested: device?.rotationRequestedAt !== undefined,
        ...(device?.rotationRequestedAt === undefined ? {} : { requestedAt: device.rotationRequestedAt }),
      };
    }
    if (request.operation === 'activate') {
      const parsed = parseWith(identityActivateRequest, body, 'identity activate request');
      token(parsed.clientToken);
      return this.activate(thingName, request.principal, parsed.certificateId);
    }
    const parsed = parseWith(identityConfirmRequest, body, 'identity confirm request');
    token(parsed.clientToken);
    return this.confirm(thingName, request.principal, parsed.certificateId);
  }

  /**
   * Records the certificate a device asks with when fleetkit has no record of it and IoT says it is this
   * thing's (provisioned by claim, say), so rotation, revocation and the audit know it. Once per
   * certificate: afterwards the record is there.
   */
  private async adopt(thingName: string, principal: string): Promise<void> {
    const { things, certificates, devices, now } = this.props;
    if ((await certificates.forDevice(thingName)).some((r) => r.certificateId === principal)) return;
    const thing = await things.describeThing(thingName);
    const described = await things.describeCertificate(principal);
    const record = planAdoption({
      thingName,
      thing,
      certificate:
        described === undefined
          ? undefined
          : {
              ...inspectCertificate(described.certificatePem),
              certificateArn: described.certificateArn,
              status: described.status,
            },
      attached: thing === undefined ? [] : await things.thingPrincipals(thingName),
      now: now(),
    });
    if (record === undefined) return;
    await certificates.put(record);
    await devices.recordProvisioned(thingName, {
      deviceType: record.deviceType,
      certificateId: record.certificateId,
      provisionedAt: record.createdAt,
    });
  }

  private async activate(thingName: string, principal: string, certificateId: string): Promise<object> {
    const { things, certificates, devices, now } = this.props;
    const records = await certificates.forDevice(thingName);
    const described = await things.describeCertificate(certificateId);
    const info = described === undefined ? undefined : inspectCertificate(described.certificatePem);
    const record = planActivation({
      thingName,
      deviceType: (await devices.get(thingName))?.deviceType ?? records[0]?.deviceType ?? '',
      principal,
      certificate:
        described === undefined || info === undefined
          ? undefined
          : { ...info, certificateArn: described.certificateArn, status: described.status },
      records,
      now: now(),
    });
    // Recorded first: a repeat after a failure below finds it and finishes the steps.
    await certificates.put(record);
    await things.updateCertificateStatus(record.certificateId, 'ACTIVE');
    await things.attachDevicePolicy(record.certificateArn);
    await things.attachToThing(thingName, record.certificateArn);
    return { certificateId: record.certificateId, status: 'ACTIVE' };
  }

  private async confirm(thingName: string, principal: string, certificateId: string): Promise<object> {
    const { things, certificates, devices, now, graceMs } = this.props;
    const at = now();
    const plan = planConfirmation({
      principal,
      certificateId,
      records: await certificates.forDevice(thingName),
      now: at,
      graceMs,
    });
    await certificates.put(plan.confirmed);
    for (const old of plan.retire) {
      await things.updateCertificateStatus(old.certificateId, 'INACTIVE');
      await certificates.put(old);
    }
    if (plan.confirmed.origin === 'rotation')
      await devices.recordRotated(thingName, certificateId, plan.confirmed.confirmedAt ?? at);
    return { certificateId, retired: plan.retire.map((r) => r.certificateId) };
  }
}
