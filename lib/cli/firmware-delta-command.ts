import type { ApiClient } from './api.ts';
import { type DeltaOptions, uploadDeltas } from './firmware-deltas.ts';
import type { Output } from './progress.ts';

/** Help lines of the delta options of `firmware upload`, and of `firmware deltas`. */
export const DELTA_HELP = `                  [--max-deltas <n>] [--base-dir <dir>]: also uploads a VCDIFF delta (xdelta3)
                  from each of the newest available versions it may be installed over (default 3;
                  0: none); --base-dir holds earlier images named by version, others are downloaded
  firmware deltas <file> --version <v> [--max-deltas <n>] [--base-dir <dir>]
                  makes the deltas of an image uploaded already (after its approval, say)`;

/** The command-line options of the deltas (for `parseArgs`). */
export const DELTA_OPTIONS = {
  'max-deltas': { type: 'string' },
  'base-dir': { type: 'string' },
} as const;

/** The parsed values the delta commands read. */
export interface DeltaFlags {
  readonly version?: string | undefined;
  readonly 'max-deltas'?: string | undefined;
  readonly 'base-dir'?: string | undefined;
}

/** What the delta commands need of the CLI around them. */
export interface DeltaCliContext {
  readonly out: Output;
  readonly need: (value: string | undefined, what: string) => string;
  readonly usage: (message: string) => Error;
}

function deltaOptions(file: string | undefined, flags: DeltaFlags, ctx: DeltaCliContext): DeltaOptions {
  const max = flags['max-deltas'];
  if (max !== undefined && !/^\d+$/.test(max))
    throw ctx.usage(`--max-deltas must be a whole number, got '${max}'`);
  return {
    file: ctx.need(file, 'the image file'),
    ...(max === undefined ? {} : { maxDeltas: Number(max) }),
    ...(flags['base-dir'] === undefined ? {} : { baseDir: flags['base-dir'] }),
  };
}

/**
 * The deltas of `firmware upload` (for an image that came out available; one waiting for approval gets
 * them with `firmware deltas` once signed), or of `firmware deltas <file> --version <v>`.
 *
 * @param uploaded the image `firmware upload` just uploaded; absent, the one `--version` names
 * @returns the image as the registry now describes it (its `deltas`), and text for people
 */
export async function firmwareDeltasCli(
  api: ApiClient,
  file: string | undefined,
  flags: DeltaFlags,
  ctx: DeltaCliContext,
  // biome-ignore lint/suspicious/noExplicitAny: the API's firmware view, as the CLI prints it
  uploaded?: any,
): Promise<{ answer: unknown; human: string }> {
  const path = (version: string) => `firmware/${encodeURIComponent(version)}`;
  const firmware = uploaded ?? (await api.call('GET', path(ctx.need(flags.version, '--version'))));
  const options = deltaOptions(file, flags, ctx);
  const made = firmware.status === 'available' ? await uploadDeltas(api, firmware, options, ctx.out) : [];
  const answer = made.length === 0 ? firmware : await api.call('GET', path(firmware.version));
  const deltas = made.length === 0 ? '' : `; deltas from ${made.join(', ')}`;
  const human =
    uploaded === undefined
      ? `firmware ${firmware.version}: deltas from ${made.join(', ') || 'no version'}\n`
      : `firmware ${firmware.version} is ${firmware.status}, signed by ${firmware.keyId}${deltas}\n`;
  return { answer, human };
}
