import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ApiClient, ApiError, type ApiOptions } from './api.ts';
import { AUDIT_HELP, auditCommand } from './audit.ts';
import { COMMAND_HELP, commandCli } from './command.ts';
import { IDENTITY_HELP, identityCommand, rotatesAsFleetCommand, rotationFleetOptions } from './devices.ts';
import { uploadFirmware } from './firmware.ts';
import { DELTA_HELP, DELTA_OPTIONS, firmwareDeltasCli } from './firmware-delta-command.ts';
import type { Output } from './progress.ts';
import { followPlanning, showRollout } from './rollout.ts';
import { localSigner } from './sigv4.ts';
import { runSim, SimUsageError } from './sim.ts';

export const HELP = `fleetkit — operator CLI for a fleetkit deployment (the local platform or AWS)

Usage: npm run cli -- <command> [options]

Firmware
  firmware upload <file> --version <v> --device-types <a,b> [--min-version <v>] [--notes <text>]
                  [--multipart] [--part-size <MiB>]
${DELTA_HELP}
  firmware list | firmware show <version> | firmware keys | firmware withdraw <version>
Edge models
  model upload <file.onnx> --version <v> --device-types <a,b> [--notes <text>]
                  checked against the device types' feature contract, then signed
  model list | model show <version> | model withdraw <version>
Rollouts
  rollout create <request.json> [--model <v>]
                                       the POST /rollouts body (see README), from a file or - for stdin;
                                       --model rolls out that edge model (model-update jobs); follows
                                       planning until the plan is cut (--json: answers at once)
  rollout list
  rollout status <id> [--watch]        per-wave progress; --watch redraws until the rollout ends
  rollout executions <id> [--status FAILED]
  rollout pause|resume|cancel|rollback <id> [--reason <text>]
Devices and fleet
  devices list [--type <t>] | devices show <id>
  devices set <id> [--groups <a,b>] [--attr key=value ...] [--unset key ...]
${IDENTITY_HELP}
  fleet health | alerts [--device <id>]
${COMMAND_HELP}
${AUDIT_HELP}
Shadows
  shadow get <thing> [--name <shadow>] | shadow update <thing> <json> [--name <shadow>]
Simulated fleet (the local platform only)
  sim status                           devices up, connected, held offline; connection retries
  sim faults                           the faults in force
  sim fault <offline|flaky-link|weak-signal|drain-battery|overheat|firmware-failure>
            [--things <a,b>] [--type <t>] [--groups <g>] [--percent <p>] [--salt <s>] [--for <seconds>]
            [--every <s> --down <s>] [--rsrp <dBm> --rsrq <dB>] [--to-percent <p> --over <seconds>] [--celsius <c>]
            [--version <v> --fail-at install|health-check]
  sim clear <faultId> | sim clear --all

Options
  --api <url>      the HTTP API (env FLEETKIT_API, default http://127.0.0.1:3000)
  --data-dir <p>   the local platform's data directory, whose credentials file signs requests
                   (env FLEETKIT_DATA_DIR, default .fleetkit)
  --aws            sign requests with SigV4 (IAM) for the deployed API, in AWS_REGION with the usual
                   AWS credentials (env, profile, SSO); or set FLEETKIT_AWS_REGION
  --json           print the API's JSON answers as they are
  -h, --help       this text
`;

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
    io.err.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
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
  const print = (answer: unknown, human?: string) => {
    io.out.write(
      values.json === true || human === undefined ? `${JSON.stringify(answer, null, 2)}\n` : human,
    );
  };
  try {
    await dispatch(api, positionals, values, io, print);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof ApiError) {
      io.err.write(`${error.code}: ${error.message}\n`);
      const issues = error.body?.issues as { field: string; reason: string }[] | undefined;
      for (const issue of issues ?? []) io.err.write(`  ${issue.field}: ${issue.reason}\n`);
      if (error.body?.details !== undefined) io.err.write(`  ${JSON.stringify(error.body.details)}\n`);
      return 1;
    }
    io.err.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      api: { type: 'string' },
      'data-dir': { type: 'string' },
      aws: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'string' },
      model: { type: 'string' },
      'device-types': { type: 'string' },
      'min-version': { type: 'string' },
      notes: { type: 'string' },
      multipart: { type: 'boolean' },
      'part-size': { type: 'string' },
      ...DELTA_OPTIONS,
      watch: { type: 'boolean' },
      status: { type: 'string' },
      reason: { type: 'string' },
      type: { type: 'string' },
      device: { type: 'string' },
      groups: { type: 'string' },
      attr: { type: 'string', multiple: true },
      unset: { type: 'string', multiple: true },
      name: { type: 'string' },
      csr: { type: 'string' },
      out: { type: 'string' },
      certificate: { type: 'string' },
      param: { type: 'string', multiple: true },
      wait: { type: 'boolean' },
      expires: { type: 'string' },
      devices: { type: 'string' },
      rate: { type: 'string' },
      again: { type: 'boolean' },
      check: { type: 'string' },
      things: { type: 'string' },
      percent: { type: 'string' },
      salt: { type: 'string' },
      for: { type: 'string' },
      rsrp: { type: 'string' },
      rsrq: { type: 'string' },
      'to-percent': { type: 'string' },
      over: { type: 'string' },
      celsius: { type: 'string' },
      'fail-at': { type: 'string' },
      every: { type: 'string' },
      down: { type: 'string' },
      all: { type: 'boolean' },
      'all-at-once': { type: 'boolean' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

async function dispatch(
  api: ApiClient,
  [group, action, ...rest]: readonly string[],
  values: Values,
  io: CliIo,
  print: (answer: unknown, human?: string) => void,
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
    case 'rollout create': {
      const source = need(rest[0], 'a request file (or - for stdin)');
      const text =
        source === '-' ? await (io.stdin?.() ?? Promise.resolve('')) : await readFile(source, 'utf8');
      let request: unknown;
      try {
        request = JSON.parse(text);
      } catch (error) {
        throw new UsageError(
          `${source} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (values.model !== undefined) {
        if (typeof request !== 'object' || request === null || Array.isArray(request))
          throw new UsageError(`${source} is not a JSON object`);
        // An edge model instead of firmware: the rest of the request (targets, waves, gates) is the same.
        const { firmwareVersion: _firmware, ...rest } = request as Record<string, unknown>;
        request = { ...rest, modelVersion: values.model };
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
      if (values.json === true) return print(await api.call('GET', `rollouts/${id('a rollout id')}`));
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
    default:
      throw new UsageError(`unknown command '${[group, action].filter(Boolean).join(' ')}' (see --help)`);
  }
}
