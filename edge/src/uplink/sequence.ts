import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../ota/atomic-file.ts';
import type { Clock } from '../ota/ports.ts';

/** Where the uplink keeps the top of the sequence numbers it has handed out, beside its queue. */
export const SEQUENCE_FILE = 'seq.json';

export interface SequenceNumbersOptions {
  readonly path: string;
  readonly clock: Clock;
  /**
   * Numbers reserved per write of the file: the file is written once per block, and a restart skips
   * what was left of the block. @default 1024 (about 17 hours at one reading a minute)
   */
  readonly blockSize?: number;
  /** fsync the file (and its directory) on each write. @default 'always' */
  readonly fsync?: 'always' | 'never';
}

/** The file's contents: every number below `reservedBelow` may have been handed out. */
interface SequenceFile {
  readonly reservedBelow: number;
}

/**
 * The device's reading sequence numbers (`seq`), which the cloud deduplicates readings by, keyed by
 * `(device, seq)`: they must only rise over the device's whole life, across restarts, power cuts and
 * clock resets, or the cloud would take new readings for repeats.
 *
 * A number is handed out only once it is below a ceiling written to disk (`reservedBelow`), so after a
 * power cut the next start begins at that ceiling, above every number handed out. The ceiling is
 * written once per block of numbers, not once per reading (a flash write a minute would wear out the
 * storage of a small device); a restart skips the unused rest of the block, and the cloud's dedup
 * does not need the numbers to be contiguous.
 *
 * The first number after a start is also at least the clock's epoch milliseconds: a device whose file
 * was lost (a wiped data directory, a replaced SD card) still starts above the numbers it used before,
 * since it takes far less than one reading per millisecond. Starting from the clock alone is not enough
 * — a device whose real-time clock resets to an earlier time after a power cut would repeat numbers —
 * which is why the file exists; only losing the file and the clock together can make numbers repeat.
 */
export class SequenceNumbers {
  private next: number;
  private reservedBelow: number;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly options: SequenceNumbersOptions,
    start: number,
    reservedBelow: number,
  ) {
    this.next = start;
    this.reservedBelow = reservedBelow;
  }

  /**
   * Reads the ceiling left by the last run and reserves the first block from above it (and above the
   * clock). A file that does not parse counts as lost: the clock is then the only floor.
   */
  static async open(options: SequenceNumbersOptions): Promise<SequenceNumbers> {
    const blockSize = options.blockSize ?? 1024;
    if (!Number.isSafeInteger(blockSize) || blockSize < 1)
      throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    const stored = parseSequenceFile(await readFileIfExists(options.path));
    const start = Math.max(stored ?? 0, Math.floor(options.clock.now()));
    const numbers = new SequenceNumbers(options, start, start);
    await numbers.reserve();
    return numbers;
  }

  /** The number the next reading gets. */
  get peek(): number {
    return this.next;
  }

  /** Hands out the next number; durable (reserved on disk) before it resolves. */
  take(): Promise<number> {
    const run = this.chain.then(async () => {
      if (this.next >= this.reservedBelow) await this.reserve();
      return this.next++;
    });
    this.chain = run.catch(() => {});
    return run;
  }

  private async reserve(): Promise<void> {
    const reservedBelow = this.next + (this.options.blockSize ?? 1024);
    const text = `${JSON.stringify({ reservedBelow } satisfies SequenceFile)}\n`;
    if ((this.options.fsync ?? 'always') === 'always') await writeFileAtomic(this.options.path, text);
    else {
      // Without fsync a power cut may lose the write, but a crash of the process alone cannot tear it.
      const temp = join(dirname(this.options.path), `.${basename(this.options.path)}.tmp`);
      await writeFile(temp, text);
      await rename(temp, this.options.path);
    }
    this.reservedBelow = reservedBelow;
  }
}

function parseSequenceFile(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<SequenceFile>;
    const value = parsed.reservedBelow;
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
