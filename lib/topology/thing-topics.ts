import { THING_TOPIC_ROOT } from '../protocol/topics.ts';
import type { Resource } from './model.ts';

/** The topic scopes the shadow, jobs and identity functions answer devices on, under the thing topics. */
export const THING_TOPIC_RESOURCES = {
  // Two scopes, not `fleet/things/#`: a shadow function cannot answer as the jobs API, nor the reverse.
  shadowTopics: {
    kind: 'topics',
    description: 'Shadow answers and notifications: accepted / rejected, update/delta, update/documents',
    filter: `${THING_TOPIC_ROOT}/+/shadow/#`,
  },
  jobTopics: {
    kind: 'topics',
    description: 'Jobs answers and notifications: accepted / rejected, notify, notify-next',
    filter: `${THING_TOPIC_ROOT}/+/jobs/#`,
  },
  identityTopics: {
    kind: 'topics',
    description: 'Identity answers and notifications: get / activate / confirm accepted and rejected, notify',
    filter: `${THING_TOPIC_ROOT}/+/identity/#`,
  },
} as const satisfies Readonly<Record<string, Resource>>;
