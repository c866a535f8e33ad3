import type { ApiClient } from './api.ts';
import { type Output, progressBar } from './progress.ts';

/** The help lines of the `command` group. */
export const COMMAND_HELP = `Commands (cloud to device)
  command send <device> <name> [--param k=v ...] [--wait] [--expires <s>]
                                       202 with the execution id; --wait waits up to 25 s for the
                                       device's answer (a device asleep in PSM gets it when it wakes)
  command status <device> <executionId> | command list <device> [--status SUCCEEDED]
  command fleet <name> [--param k=v ...] [--type <a,b>] [--groups <a,b>] [--devices <a,b>]
                [--attr key=value ...] [--rate <per minute>] [--expires <s>] [--watch]
                                       one command to a selection of devices, paced; --watch shows a
                                       progress bar until every execution has ended
  command fleet-status <batchId> [--watch]`;

/** Options the `command` group reads. */
export interface CommandOptions {
  readonly param?: readonly string[] | undefined;
  readonly wait?: boolean | undefined;
  readonly expires?: string | undefined;
  readonly status?: string | undefined;
  readonly type?: string | undefined;
  readonly groups?: string | undefined;
  readonly devices?: string | undefined;
  readonly attr?: readonly string[] | undefined;
  readonly rate?: string | undefined;
  readonly watch?: boolean | undefined;
}

/** What the command group needs of the CLI around it. */
export interface CommandCliContext {
  readonly out: Output;
  readonly need: (value: string | undefined, what: string) => string;
  readonly usage: (message: string) => Error;
  /** Pause between two reads of a fleet command's progress. @default 2000 */
  readonly intervalMs?: number;
}

/** `k=v` pairs as an object; a value that reads as JSON (a number, a boolean) is taken as such. */
export function keyValues(
  pairs: readonly string[] | undefined,
  flag: string,
  usage: (message: string) => Error,
) {
  const object: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw usage(`${flag} expects key=value, got '${pair}'`);
    const text = pair.slice(at + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Not JSON: the text itself (a name, a version).
    }
    object[pair.slice(0, at)] = value;
  }
  return object;
}

function wholeNumber(text: string | undefined, flag: string, usage: (message: string) => Error) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw usage(`${flag} expects a whole number >= 1, got '${text}'`);
  return n;
}

const csv = (value: string | undefined) =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

// biome-ignore lint/suspicious/noExplicitAny: the API's fleet command view, as it returns it
type BatchView = any;

/** One line of a fleet command's progress. */
function progressLabel(batch: BatchView): string {
  const p = batch.progress;
  return `${p.succeeded} succeeded, ${p.failed} failed, ${p.expired} expired, ${p.pending} pending of ${p.total} (${batch.dispatched}/${batch.total} dispatched)`;
}

/** Reads a fleet command until every execution has ended, drawing its progress as a bar. */
async function watchBatch(api: ApiClient, batchId: string, ctx: CommandCliContext): Promise<BatchView> {
  const bar = progressBar(ctx.out, batchId);
  for (;;) {
    const batch = await api.call('GET', `commands/${encodeURIComponent(batchId)}`);
    const { total, pending } = batch.progress;
    if (pending === 0 && batch.status !== 'DISPATCHING') {
      bar.done(progressLabel(batch));
      return batch;
    }
    bar.update(total === 0 ? 0 : (total - pending) / total, progressLabel(batch));
    await new Promise((resolve) => setTimeout(resolve, ctx.intervalMs ?? 2000));
  }
}

/**
 * `command send | status | list | fleet | fleet-status`: the operator's side of cloud-to-device commands.
 *
 * @returns the API's answer, and text for people
 */
export async function commandCli(
  api: ApiClient,
  action: string | undefined,
  args: readonly string[],
  options: CommandOptions,
  ctx: CommandCliContext,
): Promise<{ answer: unknown; human: string }> {
  const { need, usage } = ctx;
  const device = () => encodeURIComponent(need(args[0], 'a device id'));
  const parameters = keyValues(options.param, '--param', usage);
  const expiresInSeconds = wholeNumber(options.expires, '--expires', usage);
  switch (action) {
    case 'send': {
      const name = need(args[1], 'a command name');
      const answer = await api.call(
        'POST',
        `devices/${device()}/commands${options.wait === true ? '?wait=25' : ''}`,
        { name, parameters, ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }) },
      );
      const held =
        answer.expectedDeliveryAt === undefined
          ? ''
          : `; held for a device asleep, expected by ${new Date(answer.expectedDeliveryAt).toISOString()}`;
      const result = answer.result === undefined ? '' : `\n${JSON.stringify(answer.result, null, 2)}`;
      return { answer, human: `${answer.executionId}  ${answer.status}${held}${result}\n` };
    }
    case 'status': {
      const answer = await api.call(
        'GET',
        `devices/${device()}/commands/${encodeURIComponent(need(args[1], 'an execution id'))}`,
      );
      return { answer, human: `${JSON.stringify(answer, null, 2)}\n` };
    }
    case 'list': {
      const query = options.status === undefined ? '' : `?status=${encodeURIComponent(options.status)}`;
      const answer = await api.call('GET', `devices/${device()}/commands${query}`);
      const lines = (answer.executions as BatchView[]).map(
        (e) => `${e.executionId}  ${e.name.padEnd(14)} ${e.status}${e.reason ? `  (${e.reason})` : ''}`,
      );
      return { answer, human: `${lines.join('\n')}${lines.length > 0 ? '\n' : ''}` };
    }
    case 'fleet': {
      const attributes = Object.entries(keyValues(options.attr, '--attr', usage)).map(
        ([attribute, value]) => ({ attribute, op: 'eq', value }),
      );
      const targets = {
        ...(options.type === undefined ? {} : { deviceTypes: csv(options.type) }),
        ...(options.groups === undefined ? {} : { groups: csv(options.groups) }),
        ...(options.devices === undefined ? {} : { things: csv(options.devices) }),
        ...(attributes.length === 0 ? {} : { attributes }),
      };
      const ratePerMinute = wholeNumber(options.rate, '--rate', usage);
      const created = await api.call('POST', 'commands', {
        name: need(args[0], 'a command name'),
        parameters,
        targets,
        ...(ratePerMinute === undefined ? {} : { ratePerMinute }),
        ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
      });
      if (options.watch !== true)
        return {
          answer: created,
          human: `fleet command ${created.batchId}: ${progressLabel(created)}; follow it with: command fleet-status ${created.batchId} --watch\n`,
        };
      const answer = await watchBatch(api, created.batchId, ctx);
      return { answer, human: '' };
    }
    case 'fleet-status': {
      const batchId = need(args[0], 'a batch id');
      if (options.watch === true) return { answer: await watchBatch(api, batchId, ctx), human: '' };
      const answer = await api.call('GET', `commands/${encodeURIComponent(batchId)}`);
      return { answer, human: `${batchId}  ${answer.status}: ${progressLabel(answer)}\n` };
    }
    default:
      throw usage(`unknown command 'command ${action ?? ''}' (see --help)`);
  }
}
