/**
 * Kafka's default key partitioner, so that a key lands in the same partition number in the embedded
 * log as in Kafka: `toPositive(murmur2(utf8(key))) % partitions`, as the Java client's
 * `BuiltInPartitioner.partitionForKey` and kafkajs' `Partitioners.DefaultPartitioner` compute it.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * MurmurHash2, 32-bit, with Kafka's seed — a port of `org.apache.kafka.common.utils.Utils.murmur2`.
 * `Math.imul` and `>>>` give Java's wrapping int arithmetic.
 *
 * @returns a signed 32-bit integer, as Java returns it
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length - (length % 4);
  for (let i = 0; i < whole; i += 4) {
    let k =
      (data[i] ?? 0) | ((data[i + 1] ?? 0) << 8) | ((data[i + 2] ?? 0) << 16) | ((data[i + 3] ?? 0) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // The Java original's fall-through switch over the 1-3 tail bytes, written as cumulative ifs.
  const tail = length % 4;
  if (tail >= 3) h ^= (data[whole + 2] ?? 0) << 16;
  if (tail >= 2) h ^= (data[whole + 1] ?? 0) << 8;
  if (tail >= 1) {
    h ^= data[whole] ?? 0;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const encoder = new TextEncoder();

/** The partition Kafka's default partitioner picks for `key` on a topic with `partitions` partitions. */
export function partitionForKey(key: string, partitions: number): number {
  // `& 0x7fffffff` rather than Math.abs: Kafka's `toPositive`, which also maps Integer.MIN_VALUE.
  return (murmur2(encoder.encode(key)) & 0x7fffffff) % partitions;
}
