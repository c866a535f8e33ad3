import { describe, expect, it } from 'vitest';
import { planAcls } from '../../../../lambdas/domain/kafka/acl-plan.ts';
import type { KafkaAclBinding } from '../../../../lib/protocol/kafka-acls.ts';
import { topicAcl } from '../../../support/kafka-acl-cluster.ts';

const acl = topicAcl;
const IOT = 'User:iot-rules-a';
const OTHER = 'User:operator';

describe('planAcls', () => {
  it.each<[string, KafkaAclBinding[], KafkaAclBinding[], string[], KafkaAclBinding[], KafkaAclBinding[]]>([
    [
      'creates what is missing',
      [acl(IOT, 'write'), acl(IOT, 'describe')],
      [],
      [IOT],
      [acl(IOT, 'write'), acl(IOT, 'describe')],
      [],
    ],
    [
      'creates nothing when everything is there (a retry)',
      [acl(IOT, 'write')],
      [acl(IOT, 'write')],
      [IOT],
      [],
      [],
    ],
    [
      'removes a managed binding no longer desired',
      [acl(IOT, 'write')],
      [acl(IOT, 'write'), acl(IOT, 'read')],
      [IOT],
      [],
      [acl(IOT, 'read')],
    ],
    [
      'moves a grant to another topic',
      [acl(IOT, 'write', 'b')],
      [acl(IOT, 'write', 'a')],
      [IOT],
      [acl(IOT, 'write', 'b')],
      [acl(IOT, 'write', 'a')],
    ],
    ['leaves bindings of unmanaged principals alone', [], [acl(OTHER, 'all')], [IOT], [], []],
    [
      'removes everything of a managed principal when nothing is desired (delete)',
      [],
      [acl(IOT, 'write'), acl(IOT, 'describe')],
      [IOT],
      [],
      [acl(IOT, 'write'), acl(IOT, 'describe')],
    ],
    [
      'tells a deny from an allow',
      [acl(IOT, 'write')],
      [{ ...acl(IOT, 'write'), permission: 'deny' }],
      [IOT],
      [acl(IOT, 'write')],
      [{ ...acl(IOT, 'write'), permission: 'deny' }],
    ],
    [
      'tells a prefix from a literal name',
      [acl(IOT, 'write')],
      [{ ...acl(IOT, 'write'), patternType: 'prefixed' }],
      [IOT],
      [acl(IOT, 'write')],
      [{ ...acl(IOT, 'write'), patternType: 'prefixed' }],
    ],
    [
      'asks for a duplicate desired binding once',
      [acl(IOT, 'write'), acl(IOT, 'write')],
      [],
      [IOT],
      [acl(IOT, 'write')],
      [],
    ],
  ])('%s', (_, desired, existing, managed, create, remove) => {
    expect(planAcls({ desired, existing, managed })).toEqual({ create, remove });
  });
});
