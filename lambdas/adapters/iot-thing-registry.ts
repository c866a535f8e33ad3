import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateThingCommand,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  DescribeThingCommand,
  DescribeThingTypeCommand,
  DetachPolicyCommand,
  DetachThingPrincipalCommand,
  type IoTClient,
  ListAttachedPoliciesCommand,
  ListPrincipalThingsCommand,
  ListThingPrincipalsCommand,
  ResourceNotFoundException,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import type { IotInspector } from '../domain/audit/ports.ts';
import type {
  IotCertificate,
  IotCertificateStatus,
  ThingDescription,
  ThingRegistry,
} from '../domain/identity/ports.ts';

export interface IotThingRegistryProps {
  readonly client: IoTClient;
  /** The device IoT policy every device certificate gets (`THINGS_POLICY_NAME`). */
  readonly devicePolicyName: string;
}

/** undefined for a ResourceNotFoundException, the value otherwise. */
async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/** A certificate id is the last part of its ARN (`...:cert/<id>`). */
export function certificateIdOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

/**
 * The IoT registry through `@aws-sdk/client-iot`: IoT Core in AWS, the local IoT control plane
 * (`AWS_ENDPOINT_URL_IOT`) on the local platform. Detaching and deleting what is already gone
 * succeeds, so every step can be repeated.
 */
export class IotThingRegistry implements ThingRegistry, IotInspector {
  private readonly client: IoTClient;
  private readonly policyName: string;

  constructor(props: IotThingRegistryProps) {
    this.client = props.client;
    this.policyName = props.devicePolicyName;
  }

  async describeThingType(thingTypeName: string) {
    const found = await unlessNotFound(this.client.send(new DescribeThingTypeCommand({ thingTypeName })));
    return found?.thingTypeName === undefined ? undefined : { thingTypeName: found.thingTypeName };
  }

  async describeThing(thingName: string): Promise<ThingDescription | undefined> {
    const found = await unlessNotFound(this.client.send(new DescribeThingCommand({ thingName })));
    if (found === undefined) return undefined;
    return found.thingTypeName === undefined
      ? { thingName }
      : { thingName, thingTypeName: found.thingTypeName };
  }

  async createThing(thingName: string, thingTypeName: string): Promise<void> {
    await this.client.send(new CreateThingCommand({ thingName, thingTypeName }));
  }

  async createCertificateFromCsr(csrPem: string): Promise<IotCertificate> {
    const made = await this.client.send(
      new CreateCertificateFromCsrCommand({ certificateSigningRequest: csrPem, setAsActive: true }),
    );
    if (
      made.certificateId === undefined ||
      made.certificateArn === undefined ||
      made.certificatePem === undefined
    ) {
      throw new Error(
        'CreateCertificateFromCsr answered without certificateId, certificateArn or certificatePem',
      );
    }
    return {
      certificateId: made.certificateId,
      certificateArn: made.certificateArn,
      certificatePem: made.certificatePem,
      status: 'ACTIVE',
    };
  }

  async describeCertificate(certificateId: string): Promise<IotCertificate | undefined> {
    const found = await unlessNotFound(this.client.send(new DescribeCertificateCommand({ certificateId })));
    const description = found?.certificateDescription;
    if (description?.certificateArn === undefined || description.certificatePem === undefined)
      return undefined;
    return {
      certificateId,
      certificateArn: description.certificateArn,
      certificatePem: description.certificatePem,
      status: description.status as IotCertificateStatus,
    };
  }

  async updateCertificateStatus(
    certificateId: string,
    status: 'ACTIVE' | 'INACTIVE' | 'REVOKED',
  ): Promise<void> {
    await this.client.send(new UpdateCertificateCommand({ certificateId, newStatus: status }));
  }

  async deleteCertificate(certificateId: string): Promise<void> {
    await unlessNotFound(this.client.send(new DeleteCertificateCommand({ certificateId })));
  }

  async attachDevicePolicy(certificateArn: string): Promise<void> {
    await this.client.send(new AttachPolicyCommand({ policyName: this.policyName, target: certificateArn }));
  }

  async detachDevicePolicy(certificateArn: string): Promise<void> {
    await unlessNotFound(
      this.client.send(new DetachPolicyCommand({ policyName: this.policyName, target: certificateArn })),
    );
  }

  async attachToThing(thingName: string, certificateArn: string): Promise<void> {
    await this.client.send(
      new AttachThingPrincipalCommand({
        thingName,
        principal: certificateArn,
        thingPrincipalType: 'EXCLUSIVE_THING',
      }),
    );
  }

  async detachFromThing(thingName: string, certificateArn: string): Promise<void> {
    await unlessNotFound(
      this.client.send(new DetachThingPrincipalCommand({ thingName, principal: certificateArn })),
    );
  }

  async thingPrincipals(thingName: string): Promise<readonly string[]> {
    const principals: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await unlessNotFound(
        this.client.send(new ListThingPrincipalsCommand({ thingName, nextToken })),
      );
      if (page === undefined) return [];
      principals.push(...(page.principals ?? []));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return principals;
  }

  async principalThings(certificateArn: string): Promise<readonly string[]> {
    const things: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await unlessNotFound(
        this.client.send(new ListPrincipalThingsCommand({ principal: certificateArn, nextToken })),
      );
      if (page === undefined) return [];
      things.push(...(page.things ?? []));
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    return things;
  }

  async attachedPolicies(certificateArn: string): Promise<readonly string[]> {
    const names: string[] = [];
    let marker: string | undefined;
    do {
      const page = await unlessNotFound(
        this.client.send(
          new ListAttachedPoliciesCommand({ target: certificateArn, marker, recursive: false }),
        ),
      );
      if (page === undefined) return [];
      names.push(
        ...(page.policies ?? []).flatMap((policy) => (policy.policyName ? [policy.policyName] : [])),
      );
      marker = page.nextMarker;
    } while (marker !== undefined);
    return names;
  }
}
