import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LogCorruptionError } from './errors.ts';
import { writeFileAtomic } from './fs-util.ts';

interface OffsetsFile {
  readonly group: string;
  readonly topic: string;
  /** Partition → the next offset the group reads (Kafka's committed offset: last processed + 1). */
  readonly offsets: Record<string, number>;
}

/**
 * File of one group's offsets on one topic. The name is the group in base64url, so any group name is
 * a safe file name; one too long for a file name (255 bytes) is hashed instead, behind a `.` that
 * base64url never contains. The file holds the group's name either way.
 */
export function groupOffsetsPath(topicDir: string, group: string): string {
  const encoded = Buffer.from(group, 'utf8').toString('base64url');
  const name = encoded.length <= 200 ? encoded : `sha256.${createHash('sha256').update(group).digest('hex')}`;
  return join(topicDir, 'groups', `${name}.json`);
}

/**
 * A consumer group's committed offsets on one topic, in one JSON file replaced atomically (temporary
 * file, fsync, rename) on every commit, so a crash leaves either the previous or the new offsets.
 * Commits that arrive while a write is in progress are folded into the next write.
 */
export class GroupOffsets {
  private readonly path: string;
  private readonly group: string;
  private readonly topic: string;
  private readonly offsets: Record<string, number>;
  private writing: Promise<void> | undefined;
  /** Counts changes; `durableVersion` is the last one known to be on disk. */
  private version = 0;
  private durableVersion = 0;

  private constructor(path: string, group: string, topic: string, offsets: Record<string, number>) {
    this.path = path;
    this.group = group;
    this.topic = topic;
    this.offsets = offsets;
  }

  /** Loads the group's offsets, or none when it never committed. */
  static async load(topicDir: string, topic: string, group: string): Promise<GroupOffsets> {
    const path = groupOffsetsPath(topicDir, group);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(dirname(path), { recursive: true });
      return new GroupOffsets(path, group, topic, {});
    }
    let file: OffsetsFile;
    try {
      file = JSON.parse(text) as OffsetsFile;
    } catch (error) {
      // Written by rename only, so a half file cannot happen short of disk damage or a hand edit.
      throw new LogCorruptionError(`${path} is not valid JSON: ${(error as Error).message}`);
    }
    const offsets: Record<string, number> = {};
    for (const [partition, offset] of Object.entries(file.offsets ?? {})) {
      if (Number.isSafeInteger(offset) && offset >= 0) offsets[partition] = offset;
    }
    return new GroupOffsets(path, group, topic, offsets);
  }

  /** The next offset the group reads in `partition`, or undefined when it never committed there. */
  get(partition: number): number | undefined {
    return this.offsets[String(partition)];
  }

  /** Records `next` as the group's position in `partition`; resolves once it is on disk. */
  async commit(partition: number, next: number): Promise<void> {
    this.offsets[String(partition)] = next;
    const mine = ++this.version;
    while (this.durableVersion < mine) {
      if (this.writing === undefined) {
        // One write carries every change made so far, this one and any made while the last write ran.
        const version = this.version;
        const content = JSON.stringify({ group: this.group, topic: this.topic, offsets: this.offsets });
        this.writing = writeFileAtomic(this.path, content)
          .then(() => {
            this.durableVersion = Math.max(this.durableVersion, version);
          })
          .finally(() => {
            this.writing = undefined;
          });
        await this.writing;
      } else {
        await this.writing.catch(() => undefined);
      }
    }
  }
}
