import { describe, expect, it } from 'vitest';
import { renderDevicePolicyDocument } from '../../lib/constructs/device-policy.ts';
import { DEVICE_PERMISSIONS } from '../../lib/protocol/device-policy.ts';

/** The rendered IoT policy's identity rules, statement by statement (no synth needed). */
describe('the device IoT policy document', () => {
  const document = renderDevicePolicyDocument(DEVICE_PERMISSIONS, 'aws');

  it('conditions Connect on the certificate being attached to the thing (IsAttached)', () => {
    // Act
    const connect = document.Statement.filter((s) => s.Action.includes('iot:Connect'));

    // Assess
    expect(connect).toEqual([
      {
        Effect: 'Allow',
        Action: ['iot:Connect'],
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the IoT policy variable, literally
        Resource: ['arn:aws:iot:*:*:client/${iot:Connection.Thing.ThingName}'],
        Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
      },
    ]);
  });

  it('conditions nothing else: later requests are already bound to the connected thing', () => {
    expect(document.Statement.filter((s) => s.Condition !== undefined).map((s) => s.Action)).toEqual([
      ['iot:Connect'],
    ]);
  });

  it('names the thing in topics by client id, which Connect made equal to the thing name', () => {
    // Act
    const topics = document.Statement.filter((s) => !s.Action.includes('iot:Connect')).flatMap(
      (s) => s.Resource,
    );

    // Assess
    expect(topics.join('\n')).not.toContain('Connection.Thing.ThingName');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the IoT policy variable, literally
    expect(topics).toContain('arn:aws:iot:*:*:topic/fleet/things/${iot:ClientId}/identity/activate');
  });

  it('lets a device ask for its next certificate with AWS CreateCertificateFromCsr, JSON only', () => {
    // Act
    const byAction = Object.fromEntries(document.Statement.map((s) => [s.Action[0], s.Resource]));

    // Assess
    expect(byAction['iot:Publish']).toContain('arn:aws:iot:*:*:topic/$aws/certificates/create-from-csr/json');
    expect(byAction['iot:Subscribe']).toContain(
      'arn:aws:iot:*:*:topicfilter/$aws/certificates/create-from-csr/json/*',
    );
    expect(byAction['iot:Receive']).toContain(
      'arn:aws:iot:*:*:topic/$aws/certificates/create-from-csr/json/*',
    );
    expect(JSON.stringify(document)).not.toMatch(/certificates\/create\/|provisioning-templates/);
  });
});
