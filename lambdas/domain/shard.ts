/**
 * A stable shard of `key` among `shards` (FNV-1a, 32 bits): spreads one logical partition (a fleet
 * command's counters, its send queue) over several DynamoDB items or index partitions, so that a burst
 * of writes does not queue on one.
 */
export function shardOf(key: string, shards: number): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) % shards;
}
