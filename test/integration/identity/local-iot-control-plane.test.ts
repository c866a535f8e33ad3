import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CertificateStateException,
  CreateCertificateFromCsrCommand,
  CreateThingCommand,
  DeleteCertificateCommand,
  DeleteConflictException,
  DescribeCertificateCommand,
  DescribeEndpointCommand,
  DescribeThingCommand,
  DescribeThingTypeCommand,
  DetachPolicyCommand,
  DetachThingPrincipalCommand,
  InvalidRequestException,
  IoTClient,
  ListAttachedPoliciesCommand,
  ListPrincipalThingsCommand,
  ListThingPrincipalsCommand,
  ListThingPrincipalsV2Command,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateIdOf } from '../../../lambdas/shared/x509.ts';
import { openOperatorCredentials } from '../../../lib/local/credentials.ts';
import { endpointGuard } from '../../../lib/local/endpoint-guard.ts';
import { mayUseThings } from '../../../lib/local/iot/access.ts';
import { type LocalIotControlPlane, startIotControlPlane } from '../../../lib/local/iot/control-plane.ts';
import { LocalIotRegistry } from '../../../lib/local/iot/registry.ts';
import { LOCAL_REGION } from '../../../lib/local/names.ts';
import { LocalPki } from '../../../lib/local/pki.ts';
import { type LocalPrincipals, localPrincipals } from '../../../lib/local/principals.ts';
import { DEVICE_PERMISSIONS } from '../../../lib/protocol/device-policy.ts';
import { topology } from '../../../lib/topology.ts';
import { makeCsr } from '../../support/csr.ts';

/** The local IoT control plane driven by the real @aws-sdk/client-iot: paths, shapes and error types. */

let dataDir: string;
let registry: LocalIotRegistry;
let server: LocalIotControlPlane;
let iot: IoTClient;
let principals: LocalPrincipals;

function clientFor(credentials: { accessKeyId: string; secretAccessKey: string }): IoTClient {
  return new IoTClient({ endpoint: server.endpoint, region: LOCAL_REGION, credentials });
}

async function openRegistry(): Promise<LocalIotRegistry> {
  return LocalIotRegistry.open({
    dataDir,
    pki: await LocalPki.open(dataDir),
    region: LOCAL_REGION,
    accountId: '000000000000',
    policies: { 'fleetkit-local-device': DEVICE_PERMISSIONS },
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-iot-cp-'));
  registry = await openRegistry();
  await registry.createThingType('tracker');
  const operator = await openOperatorCredentials(dataDir);
  principals = localPrincipals(operator, topology);
  server = await startIotControlPlane({
    registry,
    endpointAddress: '127.0.0.1',
    guard: endpointGuard({ service: 'iot', principals, listenHost: '127.0.0.1' }),
    may: (principal, access) => mayUseThings(topology, principal, access),
  });
  iot = clientFor(operator);
});

afterAll(async () => {
  iot.destroy();
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function newCertificate(active = true) {
  const { csrPem } = await makeCsr('CN=A');
  return iot.send(
    new CreateCertificateFromCsrCommand({ certificateSigningRequest: csrPem, setAsActive: active }),
  );
}

describe('things and thing types', () => {
  it('creates a thing of a type, again with the same configuration, and describes it', async () => {
    const first = await iot.send(new CreateThingCommand({ thingName: 'A', thingTypeName: 'tracker' }));
    const again = await iot.send(new CreateThingCommand({ thingName: 'A', thingTypeName: 'tracker' }));
    const described = await iot.send(new DescribeThingCommand({ thingName: 'A' }));

    expect(again.thingId).toBe(first.thingId);
    expect(first.thingArn).toBe(`arn:aws:iot:${LOCAL_REGION}:000000000000:thing/A`);
    expect(described).toMatchObject({ thingName: 'A', thingTypeName: 'tracker', defaultClientId: 'A' });
    expect((await iot.send(new DescribeThingTypeCommand({ thingTypeName: 'tracker' }))).thingTypeName).toBe(
      'tracker',
    );
  });

  it.each<[string, () => Promise<unknown>, new (...args: never[]) => Error]>([
    [
      'a thing again with another type',
      () => iot.send(new CreateThingCommand({ thingName: 'A' })),
      ResourceAlreadyExistsException,
    ],
    [
      'a thing of a type that does not exist',
      () => iot.send(new CreateThingCommand({ thingName: 'B', thingTypeName: 'nope' })),
      ResourceNotFoundException,
    ],
    [
      'an unknown thing',
      () => iot.send(new DescribeThingCommand({ thingName: 'nobody' })),
      ResourceNotFoundException,
    ],
    [
      'an unknown thing type',
      () => iot.send(new DescribeThingTypeCommand({ thingTypeName: 'nope' })),
      ResourceNotFoundException,
    ],
    [
      'a CSR that is not one',
      () => iot.send(new CreateCertificateFromCsrCommand({ certificateSigningRequest: 'hello' })),
      InvalidRequestException,
    ],
  ])('refuses %s with the SDK exception AWS models', async (_case, call, type) => {
    await expect(call()).rejects.toBeInstanceOf(type);
  });
});

describe('certificates', () => {
  it('signs a CSR with the local CA: the id is the SHA-256 of the DER, status per setAsActive', async () => {
    const active = await newCertificate(true);
    const inactive = await newCertificate(false);
    const described = await iot.send(new DescribeCertificateCommand({ certificateId: active.certificateId }));

    expect(active.certificateId).toBe(certificateIdOf(active.certificatePem ?? ''));
    expect(described.certificateDescription).toMatchObject({
      status: 'ACTIVE',
      certificateArn: active.certificateArn,
    });
    expect(described.certificateDescription?.validity?.notAfter).toBeInstanceOf(Date);
    expect(
      (await iot.send(new DescribeCertificateCommand({ certificateId: inactive.certificateId })))
        .certificateDescription?.status,
    ).toBe('INACTIVE');
  });

  it('attaches to a thing exclusively and to the policy, lists both ways, detaches, deletes when allowed', async () => {
    // Prepare
    const cert = await newCertificate(true);
    const arn = cert.certificateArn ?? '';
    const certificateId = cert.certificateId ?? '';

    // Act
    await iot.send(
      new AttachThingPrincipalCommand({
        thingName: 'A',
        principal: arn,
        thingPrincipalType: 'EXCLUSIVE_THING',
      }),
    );
    await iot.send(new AttachPolicyCommand({ policyName: 'fleetkit-local-device', target: arn }));

    // Assess
    expect((await iot.send(new ListThingPrincipalsCommand({ thingName: 'A' }))).principals).toContain(arn);
    expect(
      (await iot.send(new ListThingPrincipalsV2Command({ thingName: 'A' }))).thingPrincipalObjects,
    ).toContainEqual({
      principal: arn,
      thingPrincipalType: 'EXCLUSIVE_THING',
    });
    expect((await iot.send(new ListPrincipalThingsCommand({ principal: arn }))).things).toEqual(['A']);
    expect(
      (await iot.send(new ListAttachedPoliciesCommand({ target: arn }))).policies?.map((p) => p.policyName),
    ).toEqual(['fleetkit-local-device']);
    await iot.send(new CreateThingCommand({ thingName: 'B', thingTypeName: 'tracker' }));
    await expect(
      iot.send(new AttachThingPrincipalCommand({ thingName: 'B', principal: arn })),
    ).rejects.toBeInstanceOf(InvalidRequestException);
    await expect(iot.send(new DeleteCertificateCommand({ certificateId }))).rejects.toBeInstanceOf(
      CertificateStateException,
    );
    await iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'INACTIVE' }));
    await expect(iot.send(new DeleteCertificateCommand({ certificateId }))).rejects.toBeInstanceOf(
      DeleteConflictException,
    );
    await iot.send(new DetachThingPrincipalCommand({ thingName: 'A', principal: arn }));
    await iot.send(new DetachPolicyCommand({ policyName: 'fleetkit-local-device', target: arn }));
    await iot.send(new DeleteCertificateCommand({ certificateId }));
    await expect(iot.send(new DescribeCertificateCommand({ certificateId }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('never changes a revoked certificate again, and refuses PENDING_ACTIVATION as a new status', async () => {
    const cert = await newCertificate(true);
    const certificateId = cert.certificateId ?? '';

    await iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'REVOKED' }));

    await expect(
      iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'ACTIVE' })),
    ).rejects.toBeInstanceOf(CertificateStateException);
    await expect(
      iot.send(new UpdateCertificateCommand({ certificateId, newStatus: 'PENDING_ACTIVATION' })),
    ).rejects.toBeInstanceOf(InvalidRequestException);
  });

  it('answers DescribeEndpoint with the broker host', async () => {
    expect(
      (await iot.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }))).endpointAddress,
    ).toBe('127.0.0.1');
  });

  it('keeps things and certificates across a restart', async () => {
    const cert = await newCertificate(true);
    const reopened = await openRegistry();

    expect(reopened.describeThing('A').thingTypeName).toBe('tracker');
    expect(reopened.describeCertificate(cert.certificateId ?? '').certificateDescription.status).toBe(
      'ACTIVE',
    );
  });
});

describe('who may call it', () => {
  it('refuses an unsigned request with 403 and changes nothing', async () => {
    const response = await fetch(`${server.endpoint}/things/unsigned`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ thingTypeName: 'tracker' }),
    });

    expect(response.status).toBe(403);
    expect(() => registry.describeThing('unsigned')).toThrow(/cannot be found/);
  });

  it('lets a function do what its role may: write with things write, describe with read, nothing without', async () => {
    // Prepare: the sweeper writes the registry; the fleet sweeper does not use it at all
    const sweeper = clientFor(principals.functionKey('certificateSweeper'));
    const unrelated = clientFor(principals.functionKey('fleetSweeper'));

    // Act / Assess
    await expect(unrelated.send(new DescribeThingCommand({ thingName: 'A' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    await expect(sweeper.send(new DescribeThingCommand({ thingName: 'A' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    await expect(
      sweeper.send(new CreateThingCommand({ thingName: 'by-sweeper', thingTypeName: 'tracker' })),
    ).resolves.toBeDefined();
    sweeper.destroy();
    unrelated.destroy();
  });
});
