import { describe, expect, it } from 'vitest';
import { OwnershipTokens } from '../../../lib/local/iot/ownership-tokens.ts';
import { resolveTemplate, TemplateParameterError } from '../../../lib/local/iot/provisioning-template.ts';
import { claimPermissions, claimProvisioningTemplate } from '../../../lib/protocol/claim-policy.ts';
import { compileDevicePolicy } from '../../../lib/protocol/device-policy.ts';
import { serialNumber } from '../../../lib/protocol/fleet-provisioning.ts';

const CERT = 'c'.repeat(64);

describe('the claim template, resolved as IoT resolves it', () => {
  const body = claimProvisioningTemplate('fleetkit-local-device');

  it('names the thing after the serial, types it, activates the certificate with the device policy', () => {
    // Act
    const resolved = resolveTemplate(body, { SerialNumber: 'SN-7', DeviceType: 'tracker' }, CERT);

    // Assess
    expect(resolved).toEqual({
      thingName: 'SN-7',
      thingTypeName: 'tracker',
      certificateId: CERT,
      certificateStatus: 'ACTIVE',
      policyName: 'fleetkit-local-device',
      deviceConfiguration: { thingType: 'tracker' },
    });
  });

  it('refuses a request without a serial number', () => {
    expect(() => resolveTemplate(body, { DeviceType: 'tracker' }, CERT)).toThrow(TemplateParameterError);
  });

  it('takes the certificate id from the ownership token, never from the parameters', () => {
    const resolved = resolveTemplate(
      body,
      { SerialNumber: 'SN-7', DeviceType: 'tracker', 'AWS::IoT::Certificate::Id': 'd'.repeat(64) },
      CERT,
    );
    expect(resolved.certificateId).toBe(CERT);
  });
});

describe('certificate ownership tokens', () => {
  it('stand for their certificate for an hour, then expire and name it for deletion', () => {
    // Prepare
    let now = 0;
    const tokens = new OwnershipTokens(() => now);
    const token = tokens.issue(CERT);

    // Act + Assess
    now = 3_599_999;
    expect(tokens.certificateOf(token)).toBe(CERT);
    expect(tokens.expire()).toEqual([]);
    now = 3_600_000;
    expect(tokens.certificateOf(token)).toBeUndefined();
    expect(tokens.expire()).toEqual([CERT]);
    expect(tokens.expire()).toEqual([]);
  });

  it('are never guessable from the certificate (a fresh random token each time)', () => {
    const tokens = new OwnershipTokens();
    expect(tokens.issue(CERT)).not.toBe(tokens.issue(CERT));
    expect(tokens.certificateOf('forged')).toBeUndefined();
  });
});

describe('the claim policy', () => {
  const allows = compileDevicePolicy(
    { thingName: 'claim-SN-7', thingType: '' },
    claimPermissions('fleetkit-local-factory'),
  );

  it.each([
    ['Connect', 'claim-SN-7', true],
    ['Connect', 'SN-7', false],
    ['Publish', '$aws/certificates/create-from-csr/json', true],
    ['Publish', '$aws/provisioning-templates/fleetkit-local-factory/provision/json', true],
    ['Publish', '$aws/provisioning-templates/other/provision/json', false],
    ['Publish', '$aws/certificates/create/json', false],
    ['Publish', 'devices/tracker/SN-7/telemetry', false],
    ['Subscribe', '$aws/certificates/create-from-csr/json/accepted', true],
    ['Subscribe', '$aws/provisioning-templates/fleetkit-local-factory/provision/json/rejected', true],
    ['Subscribe', '$aws/certificates/create-from-csr/json/#', false],
    ['Subscribe', 'fleet/things/SN-7/#', false],
    ['Receive', '$aws/provisioning-templates/fleetkit-local-factory/provision/json/accepted', true],
    ['Receive', 'fleet/things/SN-7/shadow/update/delta', false],
  ] as const)('%s %s → %s', (action, resource, allowed) => {
    expect(allows(action, resource)).toBe(allowed);
  });

  it("keeps serial numbers out of the claim certificates' client ids", () => {
    expect(serialNumber.safeParse('SN-7').success).toBe(true);
    expect(serialNumber.safeParse('claim-7').success).toBe(false);
  });
});
