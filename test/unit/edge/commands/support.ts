import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandHandler, EdgeCommands } from '../../../../edge/src/commands/edge-commands.ts';
import type { Clock } from '../../../../edge/src/ota/ports.ts';
import { type CommandAnswer, type CommandRequest, commandAnswer } from '../../../../lib/protocol/commands.ts';
import { MemoryBroker, type MemoryTransport } from '../transport/memory-transport.ts';

export const TYPE = 'env-sensor';
export const DEVICE = 'sensor-9';
export const COMMANDS_TOPIC = `devices/${TYPE}/${DEVICE}/commands`;
export const ANSWERS_TOPIC = `devices/${TYPE}/${DEVICE}/command-answers`;

/** Temporary directories, removed by {@link removeDirs} (call it in `afterEach`). */
const dirs: string[] = [];
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-commands-'));
  dirs.push(dir);
  return dir;
}
export async function removeDirs(): Promise<void> {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** A request as the cloud publishes it, valid for an hour from `now`. */
export function request(now: number, overrides: Partial<CommandRequest> = {}): CommandRequest {
  return {
    executionId: 'exec-1',
    name: 'ping',
    parameters: {},
    issuedAt: now - 1_000,
    expiresAt: now + 3_600_000,
    ...overrides,
  };
}

/** The answers the device published, parsed with the protocol's schema, in order. */
export function answersOn(broker: MemoryBroker): CommandAnswer[] {
  return broker.published
    .filter((m) => m.topic === ANSWERS_TOPIC)
    .map((m) => commandAnswer.parse(JSON.parse(Buffer.from(m.payload).toString('utf8'))));
}

/** Opens the commands module for {@link DEVICE} on `transport`, in `directory`. */
export async function openCommands(options: {
  directory: string;
  transport: MemoryTransport;
  clock: Clock;
  handlers: Readonly<Record<string, CommandHandler>>;
  log?: (event: string, fields?: Readonly<Record<string, unknown>>) => void;
}): Promise<EdgeCommands> {
  return EdgeCommands.open({
    thingName: DEVICE,
    thingType: TYPE,
    fsync: 'never',
    answerBackoff: { initialMs: 50, maxMs: 50 },
    ...options,
  });
}

export { MemoryBroker };
