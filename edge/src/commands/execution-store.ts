import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as z from 'zod';
import { executionId } from '../../../lib/protocol/commands.ts';
import { decodeJson, parseWith } from '../../../lib/protocol/parse.ts';
import { readFileIfExists, writeFileAtomic } from '../ota/atomic-file.ts';
import type { Clock } from '../ota/ports.ts';

/** The store's file, in the commands directory. */
export const EXECUTIONS_FILE = 'executions.json';

const executionRecord = z.object({
  name: z.string(),
  /** The request's `expiresAt`: once past, a redelivery is ignored anyway, so the record may go. */
  expiresAt: z.number(),
  /** `started` is written before the command runs, `done` once its outcome is queued. */
  state: z.enum(['started', 'done']),
  /** Device clock when the state was written. */
  at: z.number(),
});
export type ExecutionRecord = z.output<typeof executionRecord>;

const executionsFile = z.object({
  version: z.literal(1),
  executions: z.record(executionId, executionRecord),
});

export interface ExecutionStoreOptions {
  /** Directory of {@link EXECUTIONS_FILE}; created if missing. */
  readonly directory: string;
  readonly clock: Clock;
  /** fsync the file (and its directory) on each write, as the uplink's files do. @default 'always' */
  readonly fsync?: 'always' | 'never';
  /**
   * How long a finished execution is kept after its `expiresAt`: a device clock set back (NTP after a
   * cold boot) must not make a forgotten id look new. @default 86_400_000 (a day)
   */
  readonly keepAfterExpiryMs?: number;
  /** Most finished executions kept, oldest forgotten first; started ones are always kept. @default 256 */
  readonly maxRecords?: number;
  readonly log?: (event: string, fields?: Readonly<Record<string, unknown>>) => void;
}

/**
 * The execution ids the agent has taken on, in one small JSON file replaced atomically (temporary
 * file, fsync, rename, directory fsync under `fsync: 'always'`), so a redelivered request (QoS 1 is at
 * least once, and the cloud sends again to a device that slept through a request) runs once, across
 * restarts and power cuts.
 *
 * At most once: an id is written `started` before its command runs. A restart that finds one still
 * `started` does not run it again; the commands module answers for it instead (see `EdgeCommands`).
 */
export class FileExecutionStore {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly options: ExecutionStoreOptions,
    private readonly records: Map<string, ExecutionRecord>,
  ) {}

  /** Reads the file; one that does not parse is logged and replaced by an empty store at the next write. */
  static async open(options: ExecutionStoreOptions): Promise<FileExecutionStore> {
    await mkdir(options.directory, { recursive: true });
    const path = join(options.directory, EXECUTIONS_FILE);
    const text = await readFileIfExists(path);
    const records = new Map<string, ExecutionRecord>();
    if (text !== undefined) {
      try {
        const parsed = parseWith(executionsFile, decodeJson(text, 'executions file'), 'executions file');
        for (const [id, record] of Object.entries(parsed.executions)) records.set(id, record);
      } catch (error) {
        // Refusing every command would be worse than the small risk of running a redelivered one again.
        options.log?.('command-store-corrupt', { path, error: String(error), next: 'starting empty' });
      }
    }
    return new FileExecutionStore(options, records);
  }

  get(id: string): ExecutionRecord | undefined {
    return this.records.get(id);
  }

  /** Executions a previous run started and never finished (it stopped, crashed or rebooted meanwhile). */
  unfinished(): Array<[string, ExecutionRecord]> {
    return [...this.records].filter(([, record]) => record.state === 'started');
  }

  get size(): number {
    return this.records.size;
  }

  /** Records `id` as started; resolves once that is on disk. */
  begin(id: string, name: string, expiresAt: number): Promise<void> {
    return this.write(() => {
      this.records.set(id, { name, expiresAt, state: 'started', at: this.options.clock.now() });
    });
  }

  /** Records `id` as done; resolves once that is on disk. */
  finish(id: string): Promise<void> {
    return this.write(() => {
      const record = this.records.get(id);
      if (record !== undefined)
        this.records.set(id, { ...record, state: 'done', at: this.options.clock.now() });
    });
  }

  private write(change: () => void): Promise<void> {
    const run = this.chain.then(async () => {
      change();
      this.prune();
      const executions = Object.fromEntries(this.records);
      await this.save(`${JSON.stringify({ version: 1, executions })}\n`);
    });
    this.chain = run.catch(() => {});
    return run;
  }

  private async save(text: string): Promise<void> {
    const path = join(this.options.directory, EXECUTIONS_FILE);
    if ((this.options.fsync ?? 'always') === 'always') return writeFileAtomic(path, text);
    // Without fsync a power cut may lose the write, but a crash of the process alone cannot tear it.
    const temp = join(dirname(path), `.${basename(path)}.tmp`);
    await writeFile(temp, text);
    await rename(temp, path);
  }

  /** Forgets finished executions long past their expiry, then the oldest finished beyond the cap. */
  private prune(): void {
    const now = this.options.clock.now();
    const keep = this.options.keepAfterExpiryMs ?? 86_400_000;
    for (const [id, record] of this.records)
      if (record.state === 'done' && record.expiresAt + keep < now) this.records.delete(id);
    const done = [...this.records].filter(([, record]) => record.state === 'done');
    const excess = done.length - (this.options.maxRecords ?? 256);
    if (excess <= 0) return;
    done.sort(([, a], [, b]) => a.at - b.at);
    for (const [id] of done.slice(0, excess)) this.records.delete(id);
  }
}
