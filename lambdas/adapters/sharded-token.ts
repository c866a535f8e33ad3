import { InvalidTokenError } from '../domain/errors.ts';

/** A place in a walk over several index partitions: which one, and where in it. */
export interface ShardedPosition {
  readonly shard: number;
  readonly key?: Record<string, string>;
}

/** Encodes a position as an opaque URL-safe token. */
export function encodeShardedToken(position: ShardedPosition): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** Decodes a token from {@link encodeShardedToken}; anything else is an {@link InvalidTokenError}. */
export function decodeShardedToken(token: string, shards: number): ShardedPosition {
  const refuse = () => new InvalidTokenError('nextToken is not a token this API issued');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  if (typeof parsed !== 'object' || parsed === null) throw refuse();
  const { shard, key } = parsed as { shard?: unknown; key?: unknown };
  if (typeof shard !== 'number' || !Number.isInteger(shard) || shard < 0 || shard >= shards) throw refuse();
  if (key === undefined) return { shard };
  if (typeof key !== 'object' || key === null || Object.values(key).some((v) => typeof v !== 'string'))
    throw refuse();
  return { shard, key: key as Record<string, string> };
}
