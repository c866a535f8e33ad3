import { describe, expect, it } from 'vitest';
import { TopicFormatError } from '../../../lib/protocol/errors.ts';
import {
  type DeviceTopicKind,
  deviceTopic,
  deviceTopicFilter,
  type JobsTopic,
  jobsTopic,
  parseDeviceTopic,
  parseJobsTopic,
  parseShadowTopic,
  type ShadowTopic,
  type ShadowTopicSuffix,
  shadowTopic,
} from '../../../lib/protocol/topics.ts';

/** Names at and just past AWS IoT's length limits (thing name 128, shadow name 64, job id 64). */
const name128 = 'a'.repeat(128);
const name129 = 'a'.repeat(129);
const name64 = 'b'.repeat(64);
const name65 = 'b'.repeat(65);

describe('device topics', () => {
  it.each<[string, DeviceTopicKind, string, string, string]>([
    ['telemetry', 'telemetry', 'tracker', 'A', 'devices/tracker/A/telemetry'],
    ['status', 'status', 'tracker', 'A', 'devices/tracker/A/status'],
    ['commands', 'commands', 'tracker', 'A', 'devices/tracker/A/commands'],
    ['command answers', 'command-answers', 'tracker', 'A', 'devices/tracker/A/command-answers'],
    ['every allowed character', 'status', 'gw:v2_x-y', 'Dev:01_a-B', 'devices/gw:v2_x-y/Dev:01_a-B/status'],
    ['a 128-character id', 'status', 'tracker', name128, `devices/tracker/${name128}/status`],
  ])('builds and parses back %s', (_rule, kind, deviceType, deviceId, expected) => {
    // Act
    const topic = deviceTopic(kind, deviceType, deviceId);

    // Assess
    expect(topic).toBe(expected);
    expect(parseDeviceTopic(topic)).toEqual({ deviceType, deviceId, kind });
  });

  it.each<[string, string, string]>([
    ['an id with /', 'tracker', 'a/b'],
    ['an id with +', 'tracker', 'a+b'],
    ['an id with #', 'tracker', 'a#'],
    ['an empty id', 'tracker', ''],
    ['a 129-character id', 'tracker', name129],
    ['a type with /', 'track/er', 'A'],
    ['a type with +', '+', 'A'],
    ['an empty type', '', 'A'],
    ['a 129-character type', name129, 'A'],
  ])('refuses to build a topic with %s', (_rule, deviceType, deviceId) => {
    expect(() => deviceTopic('status', deviceType, deviceId)).toThrow(TopicFormatError);
  });

  it.each<[string, string]>([
    ['the wrong root', 'device/tracker/A/status'],
    ['a leading slash', '/devices/tracker/A/status'],
    ['an unknown kind', 'devices/tracker/A/events'],
    ['no kind', 'devices/tracker/A'],
    ['an empty kind', 'devices/tracker/A/'],
    ['an extra level', 'devices/tracker/A/status/extra'],
    ['an empty id', 'devices/tracker//status'],
    ['an empty type', 'devices//A/status'],
    ['a + id', 'devices/tracker/+/status'],
    ['a # id', 'devices/tracker/#/status'],
    ['an id containing +', 'devices/tracker/a+b/status'],
    ['a 129-character id', `devices/tracker/${name129}/status`],
    ['a 129-character type', `devices/${name129}/A/status`],
    ['the empty string', ''],
  ])('refuses to parse %s', (_rule, topic) => {
    expect(() => parseDeviceTopic(topic)).toThrow(TopicFormatError);
  });

  it('names the topic it refused in the error', () => {
    // Act
    const error = catchError(() => parseDeviceTopic('devices/tracker/A/events'));

    // Assess
    expect(error).toBeInstanceOf(TopicFormatError);
    expect((error as TopicFormatError).topic).toBe('devices/tracker/A/events');
  });

  it.each<[DeviceTopicKind, string]>([
    ['telemetry', 'devices/+/+/telemetry'],
    ['status', 'devices/+/+/status'],
    ['commands', 'devices/+/+/commands'],
    ['command-answers', 'devices/+/+/command-answers'],
  ])('filters every device for %s', (kind, expected) => {
    expect(deviceTopicFilter(kind)).toBe(expected);
  });
});

describe('shadow topics', () => {
  it.each<[string, ShadowTopic, string]>([
    ['classic get', { thingName: 'A', operation: 'get' }, 'fleet/things/A/shadow/get'],
    ['classic update', { thingName: 'A', operation: 'update' }, 'fleet/things/A/shadow/update'],
    ['classic delete', { thingName: 'A', operation: 'delete' }, 'fleet/things/A/shadow/delete'],
    [
      'classic get accepted',
      { thingName: 'A', operation: 'get', suffix: 'accepted' },
      'fleet/things/A/shadow/get/accepted',
    ],
    [
      'classic get rejected',
      { thingName: 'A', operation: 'get', suffix: 'rejected' },
      'fleet/things/A/shadow/get/rejected',
    ],
    [
      'classic update accepted',
      { thingName: 'A', operation: 'update', suffix: 'accepted' },
      'fleet/things/A/shadow/update/accepted',
    ],
    [
      'classic update rejected',
      { thingName: 'A', operation: 'update', suffix: 'rejected' },
      'fleet/things/A/shadow/update/rejected',
    ],
    [
      'classic update delta',
      { thingName: 'A', operation: 'update', suffix: 'delta' },
      'fleet/things/A/shadow/update/delta',
    ],
    [
      'classic update documents',
      { thingName: 'A', operation: 'update', suffix: 'documents' },
      'fleet/things/A/shadow/update/documents',
    ],
    [
      'classic delete accepted',
      { thingName: 'A', operation: 'delete', suffix: 'accepted' },
      'fleet/things/A/shadow/delete/accepted',
    ],
    [
      'classic delete rejected',
      { thingName: 'A', operation: 'delete', suffix: 'rejected' },
      'fleet/things/A/shadow/delete/rejected',
    ],
    [
      'named get',
      { thingName: 'A', shadowName: 'cfg', operation: 'get' },
      'fleet/things/A/shadow/name/cfg/get',
    ],
    [
      'named update delta',
      { thingName: 'A', shadowName: 'cfg', operation: 'update', suffix: 'delta' },
      'fleet/things/A/shadow/name/cfg/update/delta',
    ],
    [
      'named update documents',
      { thingName: 'A', shadowName: 'cfg', operation: 'update', suffix: 'documents' },
      'fleet/things/A/shadow/name/cfg/update/documents',
    ],
    [
      'named delete rejected',
      { thingName: 'A', shadowName: 'cfg', operation: 'delete', suffix: 'rejected' },
      'fleet/things/A/shadow/name/cfg/delete/rejected',
    ],
    [
      'a shadow called "name"',
      { thingName: 'A', shadowName: 'name', operation: 'get' },
      'fleet/things/A/shadow/name/name/get',
    ],
    [
      'a 128-character thing and 64-character shadow',
      { thingName: name128, shadowName: name64, operation: 'update', suffix: 'accepted' },
      `fleet/things/${name128}/shadow/name/${name64}/update/accepted`,
    ],
  ])('builds and parses back %s', (_rule, parts, expected) => {
    // Act
    const topic = shadowTopic(parts);

    // Assess
    expect(topic).toBe(expected);
    expect(parseShadowTopic(topic)).toEqual(parts);
  });

  it('leaves shadowName and suffix out of a parsed classic request rather than setting them undefined', () => {
    // Act
    const parsed = parseShadowTopic('fleet/things/A/shadow/update');

    // Assess
    expect(Object.keys(parsed).sort()).toEqual(['operation', 'thingName']);
  });

  it.each<[string, ShadowTopic]>([
    ['delta on get', { thingName: 'A', operation: 'get', suffix: 'delta' }],
    ['documents on get', { thingName: 'A', operation: 'get', suffix: 'documents' }],
    ['delta on delete', { thingName: 'A', operation: 'delete', suffix: 'delta' }],
    ['documents on delete', { thingName: 'A', operation: 'delete', suffix: 'documents' }],
    ['an unknown suffix', { thingName: 'A', operation: 'update', suffix: 'done' as ShadowTopicSuffix }],
    ['a thing name with /', { thingName: 'A/B', operation: 'get' }],
    ['a thing name with +', { thingName: '+', operation: 'get' }],
    ['a thing name with #', { thingName: '#', operation: 'get' }],
    ['an empty thing name', { thingName: '', operation: 'get' }],
    ['a 129-character thing name', { thingName: name129, operation: 'get' }],
    ['a shadow name with /', { thingName: 'A', shadowName: 'a/b', operation: 'get' }],
    ['a shadow name with #', { thingName: 'A', shadowName: '#', operation: 'get' }],
    ['an empty shadow name', { thingName: 'A', shadowName: '', operation: 'get' }],
    ['a 65-character shadow name', { thingName: 'A', shadowName: name65, operation: 'get' }],
  ])('refuses to build %s', (_rule, parts) => {
    expect(() => shadowTopic(parts)).toThrow(TopicFormatError);
  });

  it.each<[string, string]>([
    ['the $aws root', '$aws/things/A/shadow/update'],
    ['the wrong root', 'fleet/thing/A/shadow/update'],
    ['jobs instead of shadow', 'fleet/things/A/jobs/get'],
    ['no operation', 'fleet/things/A/shadow'],
    ['an unknown operation', 'fleet/things/A/shadow/patch'],
    ['an unknown suffix', 'fleet/things/A/shadow/update/done'],
    ['delta on get', 'fleet/things/A/shadow/get/delta'],
    ['documents on get', 'fleet/things/A/shadow/get/documents'],
    ['delta on delete', 'fleet/things/A/shadow/delete/delta'],
    ['documents on delete', 'fleet/things/A/shadow/delete/documents'],
    ['an extra level', 'fleet/things/A/shadow/update/accepted/extra'],
    ['a trailing slash', 'fleet/things/A/shadow/update/'],
    ['an empty thing name', 'fleet/things//shadow/update'],
    ['a + thing name', 'fleet/things/+/shadow/update'],
    ['a # thing name', 'fleet/things/#/shadow/update'],
    ['a 129-character thing name', `fleet/things/${name129}/shadow/update`],
    ['name without a shadow name', 'fleet/things/A/shadow/name/get'],
    ['an empty shadow name', 'fleet/things/A/shadow/name//get'],
    ['a + shadow name', 'fleet/things/A/shadow/name/+/get'],
    ['a 65-character shadow name', `fleet/things/A/shadow/name/${name65}/get`],
    ['a named shadow without operation', 'fleet/things/A/shadow/name/cfg'],
  ])('refuses to parse %s', (_rule, topic) => {
    expect(() => parseShadowTopic(topic)).toThrow(TopicFormatError);
  });
});

describe('jobs topics', () => {
  it.each<[string, JobsTopic, string]>([
    ['notify', { thingName: 'A', operation: 'notify' }, 'fleet/things/A/jobs/notify'],
    ['notify-next', { thingName: 'A', operation: 'notify-next' }, 'fleet/things/A/jobs/notify-next'],
    ['get', { thingName: 'A', operation: 'get' }, 'fleet/things/A/jobs/get'],
    [
      'get accepted',
      { thingName: 'A', operation: 'get', suffix: 'accepted' },
      'fleet/things/A/jobs/get/accepted',
    ],
    [
      'get rejected',
      { thingName: 'A', operation: 'get', suffix: 'rejected' },
      'fleet/things/A/jobs/get/rejected',
    ],
    ['start-next', { thingName: 'A', operation: 'start-next' }, 'fleet/things/A/jobs/start-next'],
    [
      'start-next accepted',
      { thingName: 'A', operation: 'start-next', suffix: 'accepted' },
      'fleet/things/A/jobs/start-next/accepted',
    ],
    [
      'start-next rejected',
      { thingName: 'A', operation: 'start-next', suffix: 'rejected' },
      'fleet/things/A/jobs/start-next/rejected',
    ],
    ['{jobId}/get', { thingName: 'A', jobId: 'job-1', operation: 'get' }, 'fleet/things/A/jobs/job-1/get'],
    [
      '{jobId}/get accepted',
      { thingName: 'A', jobId: 'job-1', operation: 'get', suffix: 'accepted' },
      'fleet/things/A/jobs/job-1/get/accepted',
    ],
    [
      '{jobId}/update',
      { thingName: 'A', jobId: 'job_1', operation: 'update' },
      'fleet/things/A/jobs/job_1/update',
    ],
    [
      '{jobId}/update rejected',
      { thingName: 'A', jobId: 'job_1', operation: 'update', suffix: 'rejected' },
      'fleet/things/A/jobs/job_1/update/rejected',
    ],
    ['$next/get', { thingName: 'A', jobId: '$next', operation: 'get' }, 'fleet/things/A/jobs/$next/get'],
    [
      '$next/get accepted',
      { thingName: 'A', jobId: '$next', operation: 'get', suffix: 'accepted' },
      'fleet/things/A/jobs/$next/get/accepted',
    ],
    [
      'a 64-character job id',
      { thingName: 'A', jobId: name64, operation: 'update' },
      `fleet/things/A/jobs/${name64}/update`,
    ],
    [
      'a job id that spells a thing-level operation, with a response',
      { thingName: 'A', jobId: 'get', operation: 'get', suffix: 'accepted' },
      'fleet/things/A/jobs/get/get/accepted',
    ],
    // JOB_ID_PATTERN admits these ids and jobsTopic builds them, so the parser must read them back.
    [
      'a job id that spells a thing-level operation (get/update)',
      { thingName: 'A', jobId: 'get', operation: 'update' },
      'fleet/things/A/jobs/get/update',
    ],
    [
      'a job id that spells a thing-level operation (notify/get)',
      { thingName: 'A', jobId: 'notify', operation: 'get' },
      'fleet/things/A/jobs/notify/get',
    ],
  ])('builds and parses back %s', (_rule, parts, expected) => {
    // Act
    const topic = jobsTopic(parts);

    // Assess
    expect(topic).toBe(expected);
    expect(parseJobsTopic(topic)).toEqual(parts);
  });

  it.each<[string, JobsTopic]>([
    ['a response to notify', { thingName: 'A', operation: 'notify', suffix: 'accepted' }],
    ['a response to notify-next', { thingName: 'A', operation: 'notify-next', suffix: 'rejected' }],
    ['a job id with /', { thingName: 'A', jobId: 'a/b', operation: 'get' }],
    ['a job id with +', { thingName: 'A', jobId: '+', operation: 'get' }],
    ['a job id with #', { thingName: 'A', jobId: '#', operation: 'update' }],
    ['a job id with :', { thingName: 'A', jobId: 'a:b', operation: 'update' }],
    ['an empty job id', { thingName: 'A', jobId: '', operation: 'update' }],
    ['a 65-character job id', { thingName: 'A', jobId: name65, operation: 'update' }],
    ['a $-prefixed job id other than $next', { thingName: 'A', jobId: '$last', operation: 'get' }],
    ['a thing name with /', { thingName: 'A/B', operation: 'get' }],
    ['an empty thing name', { thingName: '', operation: 'get' }],
    ['a 129-character thing name', { thingName: name129, operation: 'get' }],
  ])('refuses to build %s', (_rule, parts) => {
    expect(() => jobsTopic(parts)).toThrow(TopicFormatError);
  });

  it.each<[string, string]>([
    ['the $aws root', '$aws/things/A/jobs/get'],
    ['the wrong root', 'fleet/things/A/job/get'],
    ['no operation', 'fleet/things/A/jobs'],
    ['an empty operation', 'fleet/things/A/jobs/'],
    ['an unknown thing-level operation', 'fleet/things/A/jobs/list'],
    ['a response to notify', 'fleet/things/A/jobs/notify/accepted'],
    ['a response to notify-next', 'fleet/things/A/jobs/notify-next/rejected'],
    ['an unknown suffix', 'fleet/things/A/jobs/get/done'],
    ['a shadow suffix', 'fleet/things/A/jobs/job-1/update/delta'],
    ['an unknown per-job operation', 'fleet/things/A/jobs/job-1/cancel'],
    ['a job id without operation', 'fleet/things/A/jobs/job-1'],
    ['an extra level after a thing-level response', 'fleet/things/A/jobs/get/accepted/extra'],
    ['an extra level after a per-job response', 'fleet/things/A/jobs/job-1/update/accepted/extra'],
    ['an empty job id', 'fleet/things/A/jobs//update'],
    ['a + job id', 'fleet/things/A/jobs/+/update'],
    ['a # job id', 'fleet/things/A/jobs/#/update'],
    ['a 65-character job id', `fleet/things/A/jobs/${name65}/update`],
    ['an empty thing name', 'fleet/things//jobs/get'],
    ['a + thing name', 'fleet/things/+/jobs/get'],
    ['a 129-character thing name', `fleet/things/${name129}/jobs/get`],
  ])('refuses to parse %s', (_rule, topic) => {
    expect(() => parseJobsTopic(topic)).toThrow(TopicFormatError);
  });
});

function catchError(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}
