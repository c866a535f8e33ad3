import { readFile } from 'node:fs/promises';
import { ApiClient, ApiError, type ApiOptions } from './api.ts';
import { auditCommand } from './audit.ts';
import { commandCli } from './command.ts';
import { suggestCommands } from './commands.ts';
import { bashCompletion, zshCompletion } from './completion.ts';
import { identityCommand, rotatesAsFleetCommand, rotationFleetOptions } from './devices.ts';
import { uploadFirmware } from './firmware.ts';
import { firmwareDeltasCli } from './firmware-delta-command.ts';
import { HELP } from './help.ts';
import { nextStep } from './hints.ts';
import { parse, type Values } from './options.ts';
import type { Output } from './progress.ts';
import { followPlanning, showRollout } from './rollout.ts';
import { localSigner } from './sigv4.ts';
import { runSim, SimUsageError } from './sim.ts';
import { HUMAN } from './tables.ts';

export interface CliIo {
  readonly out: Output;
  readonly err: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads stdin (for `rollout create -`). */
  readonly stdin?: () => Promise<string>;
  /** Signs requests; without it the CLI signs with the local platform's credentials (`--data-dir`). */
  readonly sign?: ApiOptions['sign'];
}

/** Thrown for a command line that cannot be run; the message says how to fix it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** What to run instead, when there is a good guess. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

const list = (value: string | undefined) =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');

function mebibytes(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 5)
    throw new UsageError(`--part-size is in MiB, at least 5 (S3's minimum part); got '${text}'`);
  return Math.round(n * 1024 * 1024);
}

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new UsageError(`missing ${what} (see --help)`);
  return value;
}

/** Runs one CLI command; returns the process exit code (0 ok, 1 the API refused, 2 bad usage). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (argv.includes('--json'))
      io.err.write(`${JSON.stringify({ error: { code: 'UsageError', message } })}\n`);
    else io.err.write(`${message}\nsee: npm run cli -- --help\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals.length === 0) {
    io.out.write(HELP);
    return positionals.length === 0 && values.help !== true ? 2 : 0;
  }
  const api = new ApiClient({
    baseUrl: values.api ?? io.env.FLEETKIT_API ?? 'http://127.0.0.1:3000',
    // The local API requires SigV4 as the deployed one does: sign with the platform's own credentials.
    sign: io.sign ?? localSigner(values['data-dir'] ?? io.env.FLEETKIT_DATA_DIR ?? '.fleetkit'),
  });
  const json = values.json === true;
  const command = positionals.slice(0, 2).join(' ');
  const print: Print = (answer, human, line = false) => {
    if (json && line) return io.out.write(`${JSON.stringify(answer)}\n`);
    const text = human ?? HUMAN[command]?.(answer) ?? HUMAN[positionals[0] ?? '']?.(answer);
    io.out.write(json || text === undefined ? `${JSON.stringify(answer, null, 2)}\n` : text);
  };
  const fail = (error: {
    code: string;
    message: string;
    status?: number;
    issues?: unknown;
    hint?: string;
  }) => {
    if (json) {
      io.err.write(`${JSON.stringify({ error })}\n`);
      return;
    }
    io.err.write(`${error.code === 'UsageError' ? '' : `${error.code}: `}${error.message}\n`);
    for (const issue of (error.issues as { field: string; reason: string }[] | undefined) ?? [])
      io.err.write(`  ${issue.field}: ${issue.reason}\n`);
    if (error.hint !== undefined) io.err.write(`next: ${error.hint}\n`);
  };
  try {
    // With --json, stdout holds JSON only: progress bars go to stderr.
    await dispatch(api, positionals, values, { ...io, out: json ? io.err : io.out }, print);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      fail({
        code: 'UsageError',
        message: error.message,
        ...(error.hint === undefined ? {} : { hint: error.hint }),
      });
      return 2;
    }
    if (error instanceof ApiError) {
      const hint = nextStep(error, positionals);
      fail({
        code: error.code,
        message: error.message,
        status: error.status,
        ...(error.body?.issues === undefined ? {} : { issues: error.body.issues }),
        ...(hint === undefined ? {} : { hint }),
      });
      if (!json && error.body?.details !== undefined)
        io.err.write(`  ${JSON.stringify(error.body.details)}\n`);
      return 1;
    }
    fail({ code: 'Error', message: error instanceof Error ? error.message : String(error) });
    return 1;
  }
}

/** Prints an answer: JSON with --json (one line when `line`), else `human` or the command's table. */
type Print = (answer: unknown, human?: string, line?: boolean) => void;

async function dispatch(
  api: ApiClient,
  [group, action, ...rest]: readonly string[],
  values: Values,
  io: CliIo,
  print: Print,
): Promise<void> {
  const id = (what: string) => encodeURIComponent(need(rest[0], what));
  const commandContext = { out: io.out, need, usage: (message: string) => new UsageError(message) };
  if (group === 'command') {
    const { answer, human } = await commandCli(api, action, rest, values, commandContext);
    return print(answer, human);
  }
  if (group === 'sim') {
    try {
      return await runSim(api, action, rest, values, print);
    } catch (error) {
      if (error instanceof SimUsageError) throw new UsageError(error.message);
      throw error;
    }
  }
  if (group === 'devices' && action === 'rotate' && rotatesAsFleetCommand(rest, values)) {
    // A whole type: paced and tracked, as `command fleet rotate-certificate` (see devices.ts).
    const options = rotationFleetOptions(values);
    const fleet = await commandCli(api, 'fleet', ['rotate-certificate'], options, commandContext);
    return print(fleet.answer, fleet.human);
  }
  switch (`${group} ${action ?? ''}`.trim()) {
    case 'firmware upload': {
      const firmware = await uploadFirmware(
        api,
        {
          file: need(rest[0], 'the image file'),
          version: need(values.version, '--version'),
          deviceTypes: list(need(values['device-types'], '--device-types')) ?? [],
          ...(values['min-version'] === undefined ? {} : { minVersion: values['min-version'] }),
          ...(values.notes === undefined ? {} : { releaseNotes: values.notes }),
          ...(values.multipart === true ? { multipart: true } : {}),
          ...(values['part-size'] === undefined ? {} : { partSize: mebibytes(values['part-size']) }),
        },
        io.out,
      );
      const { answer, human } = await firmwareDeltasCli(api, rest[0], values, commandContext, firmware);
      return print(answer, human);
    }
    case 'firmware deltas': {
      const { answer, human } = await firmwareDeltasCli(api, rest[0], values, commandContext);
      return print(answer, human);
    }
    case 'model upload': {
      const model = await uploadFirmware(
        api,
        {
          registry: 'models',
          file: need(rest[0], 'the model file'),
          version: need(values.version, '--version'),
          deviceTypes: list(need(values['device-types'], '--device-types')) ?? [],
          ...(values.notes === undefined ? {} : { releaseNotes: values.notes }),
        },
        io.out,
      );
      return print(model, `model ${model.version} is ${model.status}, signed by ${model.keyId}\n`);
    }
    case 'model list':
      return print(await api.call('GET', 'models'));
    case 'model show':
      return print(await api.call('GET', `models/${id('a version')}`));
    case 'model withdraw':
      return print(await api.call('DELETE', `models/${id('a version')}`));
    case 'firmware list':
      return print(await api.call('GET', 'firmware'));
    case 'firmware show':
      return print(await api.call('GET', `firmware/${id('a version')}`));
    case 'firmware keys':
      return print(await api.call('GET', 'firmware/keys'));
    case 'firmware withdraw':
      return print(await api.call('DELETE', `firmware/${id('a version')}`));
    case 'rollout preview':
      return print(await api.call('POST', 'rollouts/preview', await requestFile(rest[0], io)));
    case 'rollout create': {
      let request = await requestFile(rest[0], io);
      if (values.model !== undefined) {
        if (typeof request !== 'object' || request === null || Array.isArray(request))
          throw new UsageError(`${rest[0]} is not a JSON object`);
        // An edge model instead of firmware: the rest of the request (targets, waves, gates) is the same.
        const { firmwareVersion: _firmware, ...others } = request as Record<string, unknown>;
        request = { ...others, modelVersion: values.model };
      }
      const accepted = await api.call('POST', 'rollouts', request);
      // With --json, the answer as it is (PLANNING); otherwise planning is followed to its end.
      if (values.json === true) return print(accepted);
      const rollout = await followPlanning(api, accepted, io.out);
      return print(
        rollout,
        `rollout ${rollout.rolloutId} is ${rollout.status}: ${rollout.selection.eligible} devices in ${rollout.waves.length} waves; follow it with: rollout status ${rollout.rolloutId} --watch\n`,
      );
    }
    case 'rollout list':
      return print(await api.call('GET', 'rollouts'));
    case 'rollout status': {
      if (values.json === true) {
        // One JSON document per line (NDJSON) while watching, so a script can follow it.
        for (;;) {
          const rollout = await api.call('GET', `rollouts/${id('a rollout id')}`);
          if (values.watch !== true) return print(rollout);
          print(rollout, undefined, true);
          if (['COMPLETED', 'CANCELED', 'ROLLED_BACK'].includes(rollout.status)) return;
          await new Promise((resolve) => setTimeout(resolve, 5000));
        }
      }
      await showRollout(api, need(rest[0], 'a rollout id'), io.out, { watch: values.watch === true });
      return;
    }
    case 'rollout executions': {
      const query = values.status === undefined ? '' : `?status=${encodeURIComponent(values.status)}`;
      return print(await api.call('GET', `rollouts/${id('a rollout id')}/executions${query}`));
    }
    case 'rollout pause':
    case 'rollout resume':
    case 'rollout cancel':
    case 'rollout rollback': {
      const rollout = await api.call(
        'POST',
        `rollouts/${id('a rollout id')}/${action}`,
        values.reason === undefined ? {} : { reason: values.reason },
      );
      return print(rollout, `rollout ${rollout.rolloutId} is ${rollout.status}\n`);
    }
    case 'devices list':
      return print(
        await api.call(
          'GET',
          `devices${values.type === undefined ? '' : `?type=${encodeURIComponent(values.type)}`}`,
        ),
      );
    case 'devices show':
      return print(await api.call('GET', `devices/${id('a device id')}`));
    case 'devices set': {
      const attributes: Record<string, string | null> = {};
      for (const pair of values.attr ?? []) {
        const at = pair.indexOf('=');
        if (at <= 0) throw new UsageError(`--attr expects key=value, got '${pair}'`);
        attributes[pair.slice(0, at)] = pair.slice(at + 1);
      }
      for (const key of values.unset ?? []) attributes[key] = null;
      const groups = list(values.groups);
      return print(
        await api.call('PATCH', `devices/${id('a device id')}`, {
          ...(groups === undefined ? {} : { groups }),
          ...(Object.keys(attributes).length === 0 ? {} : { attributes }),
        }),
      );
    }
    case 'devices provision':
    case 'devices rotate':
    case 'devices revoke':
    case 'devices allow': {
      const { answer, human } = await identityCommand(api, action as 'provision', rest, values, io, need);
      return print(answer, human);
    }
    case 'audit': {
      const { answer, human } = await auditCommand(api, {
        check: values.check,
        device: values.device,
        all: values.all === true,
      });
      return print(answer, human);
    }
    case 'fleet health':
      return print(await api.call('GET', 'fleet/health'));
    case 'alerts':
      return print(
        await api.call(
          'GET',
          `alerts${values.device === undefined ? '' : `?deviceId=${encodeURIComponent(values.device)}`}`,
        ),
      );
    case 'shadow get':
      return print(
        await api.call(
          'GET',
          `things/${id('a thing name')}/shadow${values.name === undefined ? '' : `?name=${encodeURIComponent(values.name)}`}`,
        ),
      );
    case 'shadow update': {
      let document: unknown;
      try {
        document = JSON.parse(need(rest[1], 'a shadow document (JSON)'));
      } catch (error) {
        if (error instanceof UsageError) throw error;
        throw new UsageError('the shadow document is not JSON');
      }
      return print(
        await api.call(
          'POST',
          `things/${id('a thing name')}/shadow${values.name === undefined ? '' : `?name=${encodeURIComponent(values.name)}`}`,
          document,
        ),
      );
    }
    case 'console':
      return print(await api.call('POST', 'local/console-links'));
    case 'completion':
    case 'completion bash':
    case 'completion zsh':
      io.out.write(action === 'zsh' ? zshCompletion() : bashCompletion());
      return;
    default: {
      const typed = [group, action].filter((word): word is string => word !== undefined);
      const guesses = suggestCommands(typed);
      throw new UsageError(
        `unknown command '${typed.join(' ')}' (see --help)`,
        guesses.length === 0 ? undefined : `did you mean: ${guesses.join(' | ')}`,
      );
    }
  }
}

/** A JSON request body from a file, or stdin for `-`. */
async function requestFile(source: string | undefined, io: CliIo): Promise<unknown> {
  const file = need(source, 'a request file (or - for stdin)');
  const text = file === '-' ? await (io.stdin?.() ?? Promise.resolve('')) : await readFile(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export { HELP } from './help.ts';
