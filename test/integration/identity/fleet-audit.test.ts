import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../../../lib/cli/main.ts';
import { LOCAL_STAGE } from '../../../lib/local/names.ts';
import { provisioningTemplateNames } from '../../../lib/topology/env.ts';
import { makeCsr } from '../../support/csr.ts';
import { connectWith } from '../../support/identity.ts';
import { eventually, getJson, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';

/**
 * The fleet audit on the local platform, end to end: devices provisioned by their CSRs through the API,
 * things made wrong the ways the audit looks for (through IoT's registry, the broker and device status),
 * the scheduled `fleetAudit` fired as EventBridge would, and the findings read back through `GET /audit`
 * and the CLI. Certificates are issued for 10 days, so every one is within the 30-day expiry window.
 */

let t: TestPlatform;
const DAY_MS = 86_400_000;
const clients: MqttClient[] = [];

/** Provisions a tracker by a fresh key's CSR and connects it. */
async function provisioned(thingName: string) {
  const key = await makeCsr(`CN=${thingName}`);
  const admitted = (
    await call(t.platform, 'POST', '/devices', { thingName, thingType: 'tracker', csr: key.csrPem })
  ).body;
  const client = await connectWith(t.platform, thingName, key.keyPem, admitted.certificatePem);
  clients.push(client);
  return {
    key,
    admitted,
    client,
    arn: `${t.platform.iot.describeCertificate(String(admitted.certificateId)).certificateDescription.certificateArn}`,
  };
}

/** `GET /audit` with a query; the body. */
async function audit(query = '') {
  const response = await getJson(t.platform, `/audit${query}`);
  expect(response.status).toBe(200);
  return response.body as {
    state?: Record<string, number>;
    checks: Array<{ id: string }>;
    findings: Array<{ deviceId: string; check: string; resource: string; fix: string; severity: string }>;
    nextToken?: string;
  };
}

/** The (check, resource) pairs of a device's findings, sorted. */
async function findingsOf(deviceId: string) {
  const { findings } = await audit(`?deviceId=${deviceId}`);
  return findings.map((f) => `${f.check} ${f.resource}`).sort();
}

beforeAll(async () => {
  t = await startTestPlatform({ certificateValidityMs: 10 * DAY_MS });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync().catch(() => {})));
  await t.dispose();
});

describe('the fleet audit', () => {
  it('finds what is wrong with each device, names the fix, and forgets what was fixed', async () => {
    // Prepare: four devices; every certificate expires within the window
    const healthy = await provisioned('audit-ok');
    const shared = await provisioned('audit-shared');
    const cloned = await provisioned('audit-cloned');
    const modem = await provisioned('audit-modem');
    const certOf = (d: { admitted: Record<string, unknown> }) => String(d.admitted.certificateId);

    // A certificate someone attached by hand to this thing and another (NON_EXCLUSIVE), with a policy
    // besides the device policy (the claim policy)
    const foreignKey = await makeCsr('CN=audit-foreign');
    const foreign = await t.platform.iot.createCertificateFromCsr(foreignKey.csrPem, 'ACTIVE');
    await t.platform.iot.createThing('audit-other', 'tracker');
    await t.platform.iot.attachThingPrincipal('audit-shared', foreign.certificateArn);
    await t.platform.iot.attachThingPrincipal('audit-other', foreign.certificateArn);
    await t.platform.iot.attachPolicy(
      provisioningTemplateNames(LOCAL_STAGE, 'factory').claimPolicyName,
      foreign.certificateArn,
    );
    // A second connection with the device's client id (a cloned certificate): the broker drops the first
    const clone = await connectWith(
      t.platform,
      'audit-cloned',
      cloned.key.keyPem,
      String(cloned.admitted.certificatePem),
    );
    clients.push(clone);
    // A device that reports its modem's TLS 1.2
    await modem.client.publishAsync(
      'devices/tracker/audit-modem/status',
      JSON.stringify({ firmwareVersion: '1.0.0', tlsVersion: 'TLSv1.2' }),
      { qos: 1 },
    );
    const conflicted = await eventually(async () => {
      const item = (await getJson(t.platform, '/devices/audit-cloned')).body as Record<string, unknown>;
      return item.lastClientIdConflictAt === undefined ? undefined : item;
    });
    // The API shows the conflict's time as it shows every time of a device
    expect(conflicted.lastClientIdConflictAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(conflicted.clientIdConflicts).toBeGreaterThanOrEqual(1);
    await eventually(async () => {
      const item = (await getJson(t.platform, '/devices/audit-modem')).body as Record<string, unknown>;
      return item.tlsVersion === 'TLSv1.2' ? true : undefined;
    });

    // Act
    await t.platform.scheduler.fire('fleetAudit');

    // Assess: each device's findings, by key
    const expiring = (d: { admitted: Record<string, unknown> }) => `DEVICE_CERTIFICATE_EXPIRING ${certOf(d)}`;
    expect(await findingsOf('audit-ok')).toEqual([expiring(healthy)]);
    expect(await findingsOf('audit-shared')).toEqual([
      `DEVICE_CERTIFICATE_EXPIRING ${certOf(shared)}`,
      `DEVICE_CERTIFICATE_SHARED ${foreign.certificateId}`,
      `POLICY_BROADER_THAN_DEVICE_RULE ${foreign.certificateId}`,
    ]);
    expect(await findingsOf('audit-cloned')).toEqual([
      'CONFLICTING_CLIENT_IDS audit-cloned',
      expiring(cloned),
    ]);
    expect(await findingsOf('audit-modem')).toEqual([expiring(modem), 'DEVICE_USES_TLS_1_2 audit-modem']);

    // Assess: by check, across the fleet; each finding has a fix naming the device's resource
    const byCheck = await audit('?check=DEVICE_CERTIFICATE_SHARED');
    expect(byCheck.findings).toEqual([
      expect.objectContaining({
        deviceId: 'audit-shared',
        severity: 'critical',
        fix: expect.stringContaining(foreign.certificateArn),
      }),
    ]);
    const all = await audit('?limit=500');
    expect(all.findings).toHaveLength(8);
    expect(all.state).toMatchObject({ lastPassDevices: 4, devicesThisPass: 0 });

    // Assess: the expiry alarm's metric counts the fleet's ACTIVE certificates expiring within 30 days
    expect(t.platform.metrics.total('CertificatesExpiringSoon', { Service: 'fleet-audit' })).toBe(4);

    // Act: the operator fixes the shared certificate; the next pass no longer finds it
    await t.platform.iot.detachThingPrincipal('audit-other', foreign.certificateArn);
    await t.platform.iot.detachPolicy(
      provisioningTemplateNames(LOCAL_STAGE, 'factory').claimPolicyName,
      foreign.certificateArn,
    );
    await t.platform.scheduler.fire('fleetAudit');

    // Assess
    expect(await findingsOf('audit-shared')).toEqual([`DEVICE_CERTIFICATE_EXPIRING ${certOf(shared)}`]);
    expect((await audit('?check=DEVICE_CERTIFICATE_SHARED')).findings).toEqual([]);
  });

  it('prints the findings with their fixes through the CLI', async () => {
    // Act
    let out = '';
    const io: CliIo = {
      out: {
        write: (text) => {
          out += text;
        },
        isTTY: false,
      },
      err: { write: () => {} },
      // The CLI signs with the credentials in the platform's data directory, as it does by default.
      env: { FLEETKIT_API: t.platform.gatewayUrl, FLEETKIT_DATA_DIR: t.platform.dataDir },
    };
    const code = await runCli(['audit', '--check', 'DEVICE_USES_TLS_1_2'], io);

    // Assess
    expect(code).toBe(0);
    expect(out).toContain('MEDIUM DEVICE_USES_TLS_1_2 audit-modem: the device reported a TLS 1.2 connection');
    expect(out).toContain('  fix: update its modem firmware');
    expect(out).toContain('1 finding(s)');
  });

  it('refuses a malformed query with 400 and a reason', async () => {
    const response = await getJson(t.platform, '/audit?check=not-a-check');
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toContain('check');
  });
});
