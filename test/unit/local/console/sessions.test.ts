import { describe, expect, it } from 'vitest';
import {
  consoleSessions,
  LOGIN_LINK_TTL_MS,
  SESSION_TTL_MS,
} from '../../../../lib/local/console/sessions.ts';

const operator = { accessKeyId: 'FKLOAAAAAAAAAAAAAAAA', secretAccessKey: 'operator-secret' };

function clock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('console sessions', () => {
  it('spends a login token once, for credentials the API accepts as the operator', () => {
    // Prepare
    const time = clock();
    const sessions = consoleSessions({ operator, region: 'us-east-1', now: time.now });
    const { token } = sessions.newLoginToken();
    // Act
    const first = sessions.exchange(token);
    const again = sessions.exchange(token);
    // Assess
    expect(first).toBeDefined();
    expect(again).toBeUndefined();
    const found = sessions.lookup(first?.accessKeyId ?? '');
    expect(found?.principal).toEqual({ kind: 'operator', name: 'default' });
    expect(found?.key.secretAccessKey).toBe(first?.secretAccessKey);
    expect(first?.secretAccessKey).not.toBe(operator.secretAccessKey);
    expect(Date.parse(first?.expiration ?? '')).toBeLessThanOrEqual(time.now() + SESSION_TTL_MS);
  });

  it('refuses a token after its ten minutes, and one it never issued', () => {
    const time = clock();
    const sessions = consoleSessions({ operator, region: 'us-east-1', now: time.now });
    const { token } = sessions.newLoginToken();
    time.advance(LOGIN_LINK_TTL_MS + 1);
    expect(sessions.exchange(token)).toBeUndefined();
    expect(sessions.exchange('A'.repeat(32))).toBeUndefined();
  });

  it('stops accepting a session key once it expires, and survives a restart until then', () => {
    // Prepare
    const time = clock();
    const before = consoleSessions({ operator, region: 'us-east-1', now: time.now });
    const credentials = before.exchange(before.newLoginToken().token);
    const id = credentials?.accessKeyId ?? '';
    // Act: a new instance (a restarted platform) with the same operator key
    const after = consoleSessions({ operator, region: 'us-east-1', now: time.now });
    const stillValid = after.lookup(id);
    time.advance(SESSION_TTL_MS + 1000);
    const expired = after.lookup(id);
    // Assess
    expect(stillValid?.key.secretAccessKey).toBe(credentials?.secretAccessKey);
    expect(expired).toBeUndefined();
  });

  it('derives secrets from the operator key: new operator credentials end every session', () => {
    const time = clock();
    const sessions = consoleSessions({ operator, region: 'us-east-1', now: time.now });
    const credentials = sessions.exchange(sessions.newLoginToken().token);
    const other = consoleSessions({
      operator: { ...operator, secretAccessKey: 'a-new-secret' },
      region: 'us-east-1',
      now: time.now,
    });
    expect(other.lookup(credentials?.accessKeyId ?? '')?.key.secretAccessKey).not.toBe(
      credentials?.secretAccessKey,
    );
  });

  it.each([
    ['the operator key id', operator.accessKeyId],
    ['a function key id', 'FKLFAAAAAAAAAAAAAAAA'],
    ['too short', 'FKCSAAAA'],
    ['not base 32', 'FKCS!!!!!!!!!!!!!!!!'],
  ])('knows nothing of %s', (_, id) => {
    const sessions = consoleSessions({ operator, region: 'us-east-1' });
    expect(sessions.lookup(id)).toBeUndefined();
  });
});
