import { describe, expect, it } from 'vitest';
import { countedEpisodes } from '../../../lambdas/adapters/dynamo-alert-store.ts';

const SINCE = 1_000_000;
const edge = (id: string, state: 'raised' | 'cleared', at: number) => ({ id, state, at, type: 'ANOMALY' });

describe('countedEpisodes: the alert episodes that count for a health gate from `since` on', () => {
  it.each([
    ['raised after since', [edge('a', 'raised', SINCE + 5)], ['a']],
    ['raised before since and still active', [edge('a', 'raised', SINCE - 5)], ['a']],
    [
      'raised before since and cleared after it',
      [edge('a', 'raised', SINCE - 5), edge('a', 'cleared', SINCE + 5)],
      ['a'],
    ],
    [
      'raised and cleared before since',
      [edge('a', 'raised', SINCE - 9), edge('a', 'cleared', SINCE - 5)],
      [],
    ],
    ['raised at since exactly', [edge('a', 'raised', SINCE)], ['a']],
    [
      'one episode over, one raised since',
      [edge('a', 'raised', SINCE - 9), edge('a', 'cleared', SINCE - 5), edge('b', 'raised', SINCE + 1)],
      ['b'],
    ],
  ])('%s', (_name, edges, expected) => {
    // Act
    const counted = countedEpisodes(edges, SINCE);

    // Assess
    expect(counted.map((e) => `${e.type}@${e.at}`)).toEqual(
      edges.filter((e) => e.state === 'raised' && expected.includes(e.id)).map((e) => `ANOMALY@${e.at}`),
    );
  });
});
