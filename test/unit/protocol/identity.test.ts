import { describe, expect, it } from 'vitest';
import { TopicFormatError } from '../../../lib/protocol/errors.ts';
import {
  provisionDeviceRequest,
  revokeDeviceRequest,
  rotateDevicesRequest,
} from '../../../lib/protocol/identity.ts';
import { identityTopic, parseIdentityRequestTopic } from '../../../lib/protocol/identity-topics.ts';

const CSR = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n';

describe('identity topics', () => {
  it.each([
    [{ thingName: 'A', operation: 'get' as const }, 'fleet/things/A/identity/get'],
    [
      { thingName: 'A', operation: 'activate' as const, suffix: 'accepted' as const },
      'fleet/things/A/identity/activate/accepted',
    ],
    [
      { thingName: 'A', operation: 'confirm' as const, suffix: 'rejected' as const },
      'fleet/things/A/identity/confirm/rejected',
    ],
    [{ thingName: 'A', operation: 'notify' as const }, 'fleet/things/A/identity/notify'],
  ])('builds %o as %s', (topic, expected) => {
    expect(identityTopic(topic)).toBe(expected);
  });

  it.each(['a/b', 'A+', '#', ''])('refuses thing name %j', (thingName) => {
    expect(() => identityTopic({ thingName, operation: 'get' })).toThrow(TopicFormatError);
  });

  it.each([
    ['fleet/things/A/identity/confirm', { thingName: 'A', operation: 'confirm' }],
    ['fleet/things/dev:1/identity/activate', { thingName: 'dev:1', operation: 'activate' }],
  ])('parses %s', (topic, expected) => {
    expect(parseIdentityRequestTopic(topic)).toEqual(expected);
  });

  it.each([
    'fleet/things/A/identity/notify',
    'fleet/things/A/identity/get/accepted',
    'fleet/things/A/shadow/get',
    'fleet/things/A+/identity/get',
    'devices/t/A/identity/get',
  ])('refuses %s as a request topic', (topic) => {
    expect(() => parseIdentityRequestTopic(topic)).toThrow(TopicFormatError);
  });
});

describe('identity requests', () => {
  it.each<[string, unknown, boolean]>([
    ['a CSR for a thing of a type', { thingName: 'A', thingType: 'tracker', csr: CSR }, true],
    ['no CSR', { thingName: 'A', thingType: 'tracker' }, false],
    [
      'a certificate instead of a CSR',
      { thingName: 'A', thingType: 'tracker', csr: CSR.replaceAll('CERTIFICATE REQUEST', 'CERTIFICATE') },
      false,
    ],
    ['a private key field', { thingName: 'A', thingType: 'tracker', csr: CSR, privateKey: 'x' }, false],
    ['a slash in the thing name', { thingName: 'a/b', thingType: 'tracker', csr: CSR }, false],
    [
      'a CSR over 4096 characters',
      { thingName: 'A', thingType: 'tracker', csr: CSR.replace('MIIB', 'A'.repeat(4100)) },
      false,
    ],
  ])('POST /devices with %s → valid %s', (_case, body, valid) => {
    expect(provisionDeviceRequest.safeParse(body).success).toBe(valid);
  });

  it.each<[unknown, boolean]>([
    [{ deviceIds: ['A', 'B'] }, true],
    [{ deviceType: 'tracker' }, true],
    [{}, false],
    [{ deviceIds: [] }, false],
  ])('POST /devices/rotate %o → valid %s', (body, valid) => {
    expect(rotateDevicesRequest.safeParse(body).success).toBe(valid);
  });

  it.each<[unknown, boolean]>([
    [{}, true],
    [{ certificateId: 'a'.repeat(64), reason: 'stolen' }, true],
    [{ certificateId: 'A'.repeat(64) }, false],
    [{ certificateId: 'a'.repeat(63) }, false],
  ])('POST /devices/{id}/revoke %o → valid %s', (body, valid) => {
    expect(revokeDeviceRequest.safeParse(body).success).toBe(valid);
  });
});
