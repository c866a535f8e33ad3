import type { EdgeAgent, EdgeAgentOptions } from '../agent/edge-agent.ts';
import { BuiltInCommands } from './built-in-commands.ts';
import { collectDiagnostics } from './diagnostics.ts';
import { EdgeCommands } from './edge-commands.ts';
import type { CommandRotator } from './rotate-certificate.ts';

/** How the agent takes cloud-to-device commands (`EdgeAgentOptions.commands`). */
export interface AgentCommandsOptions {
  /** Where the execution store and the answers' queue live (`{dataDir}/commands`). */
  readonly directory: string;
  /** The disk `diagnostics` reports free space of. @default directory */
  readonly dataDir?: string;
  /** @default 'always' */
  readonly fsync?: 'always' | 'never';
  /** See {@link CommandHost.restart}: `main.ts` passes its clean shutdown with exit code 75. */
  readonly restart?: () => void;
  /** The agent's certificate rotator (`main.ts` passes its own): `rotate-certificate` runs it. */
  readonly rotator?: CommandRotator;
  readonly answerBackoff?: { readonly initialMs?: number; readonly maxMs?: number };
}

/** The parts of the agent the built-in commands use. */
export type CommandableAgent = Pick<
  EdgeAgent,
  'sampleNow' | 'overrideSamplingInterval' | 'endSamplingOverride' | 'metrics' | 'status'
>;

/** The agent's commands, running: stop them before the agent's parts. */
export interface RunningCommands {
  readonly commands: EdgeCommands;
  stop(): Promise<void>;
}

/**
 * Opens the commands module on the agent's parts and starts it: answers what the last run left
 * unfinished, then listens on the device's commands topic.
 */
export async function startAgentCommands(
  agent: CommandableAgent,
  options: EdgeAgentOptions,
  settings: AgentCommandsOptions,
): Promise<RunningCommands> {
  const { modem, model, firmware, uplink, clock, log } = options;
  let commands: EdgeCommands | undefined;
  const builtIns = new BuiltInCommands({
    clock,
    msPerSecond: options.msPerSecond ?? 1000,
    sampleNow: () => agent.sampleNow({ urgent: true }),
    overrideSamplingInterval: (seconds) => agent.overrideSamplingInterval(seconds),
    endSamplingOverride: () => agent.endSamplingOverride(),
    diagnostics: () =>
      collectDiagnostics({
        ...(modem === undefined ? {} : { modem }),
        uplinkQueue: () => uplink.metrics().queue,
        // Read when the command runs: by then the module is open.
        answersQueue: () => commands?.outbox.metrics().queue ?? { queuedRecords: 0 },
        dataDir: settings.dataDir ?? settings.directory,
        firmware,
        ...(model === undefined ? {} : { model: model.report }),
        agentUptimeSeconds: () => agent.status().uptimeSeconds ?? 0,
      }),
    ...(settings.restart === undefined ? {} : { restart: settings.restart }),
    ...(settings.rotator === undefined ? {} : { rotator: settings.rotator }),
  });
  commands = await EdgeCommands.open({
    thingName: options.thingName,
    thingType: options.thingType,
    transport: options.transport,
    clock,
    directory: settings.directory,
    handlers: builtIns.handlers,
    ...(settings.fsync === undefined ? {} : { fsync: settings.fsync }),
    ...(settings.answerBackoff === undefined ? {} : { answerBackoff: settings.answerBackoff }),
    ...(log === undefined ? {} : { log }),
  });
  await commands.start();
  const running = commands;
  return {
    commands: running,
    stop: async () => {
      await running.stop();
      builtIns.stop();
    },
  };
}
