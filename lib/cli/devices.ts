import { readFile, writeFile } from 'node:fs/promises';
import type { ApiClient } from './api.ts';
import type { CommandOptions } from './command.ts';

/** Options the identity commands read. */
export interface IdentityOptions {
  readonly type?: string | undefined;
  readonly csr?: string | undefined;
  readonly out?: string | undefined;
  readonly certificate?: string | undefined;
  readonly reason?: string | undefined;
  readonly again?: boolean | undefined;
  readonly rate?: string | undefined;
  readonly expires?: string | undefined;
  readonly watch?: boolean | undefined;
  readonly 'all-at-once'?: boolean | undefined;
}

/**
 * Rotations a whole device type asks for per minute unless `--rate` says otherwise: each one is a new
 * key and CSR, three certificate API calls and a reconnection per device, so a type is rotated over a
 * while rather than all at once; well below `POST /commands`' own default of 1000.
 */
export const DEFAULT_ROTATION_RATE_PER_MINUTE = 100;

/** The help lines of the identity commands. */
export const IDENTITY_HELP = `  devices provision <thing> --type <t> --csr <file|-> [--out <answer.json>]
                                       admit a device by the CSR it made (edge: provision csr); the
                                       answer goes to the device (edge: provision install --response)
  devices rotate <id...>               ask these devices to rotate their certificates now (a request
                                       kept until each confirms, however long it is offline)
  devices rotate --type <t> [--rate <per minute>] [--reason <text>] [--expires <s>] [--watch]
                                       a whole type, paced and tracked: the fleet command
                                       rotate-certificate at ${DEFAULT_ROTATION_RATE_PER_MINUTE}/min unless --rate; same as
                                       command fleet rotate-certificate --type <t> --rate <n>
                                       (--all-at-once: notify every device of the type at once)
  devices revoke <id> [--certificate <id>] [--reason <text>]
  devices allow <serial...> --type <t> [--again]
                                       let devices with these serial numbers provision themselves by
                                       claim, as type <t>, once each (--again: serials used already)`;

/**
 * Whether `devices rotate` goes as the fleet command `rotate-certificate` (a whole type, paced, each
 * device's outcome tracked) rather than `POST /devices/rotate` (named devices, or `--all-at-once`).
 */
export function rotatesAsFleetCommand(ids: readonly string[], options: IdentityOptions): boolean {
  return ids.length === 0 && options.type !== undefined && options['all-at-once'] !== true;
}

/** `devices rotate --type <t>` as the options of `command fleet rotate-certificate`. */
export function rotationFleetOptions(options: IdentityOptions): CommandOptions {
  return {
    type: options.type,
    rate: options.rate ?? String(DEFAULT_ROTATION_RATE_PER_MINUTE),
    // As JSON, so a reason that reads as a number or a boolean stays text.
    param: options.reason === undefined ? [] : [`reason=${JSON.stringify(options.reason)}`],
    expires: options.expires,
    watch: options.watch,
  };
}

/**
 * `devices provision | rotate | revoke | allow`: the operator's half of device identity. Only a CSR is
 * sent and only public material comes back; the private key stays on the device.
 *
 * @returns the API's answer, and a line for people
 */
export async function identityCommand(
  api: ApiClient,
  action: 'provision' | 'rotate' | 'revoke' | 'allow',
  ids: readonly string[],
  options: IdentityOptions,
  read: { stdin?: () => Promise<string> },
  need: (value: string | undefined, what: string) => string,
): Promise<{ answer: unknown; human: string }> {
  if (action === 'provision') {
    const thingName = need(ids[0], 'a thing name');
    const source = need(options.csr, '--csr');
    const csr =
      source === '-' ? await (read.stdin?.() ?? Promise.resolve('')) : await readFile(source, 'utf8');
    const answer = (await api.call('POST', 'devices', {
      thingName,
      thingType: need(options.type, '--type'),
      csr,
    })) as { certificateId: string; endpoint: string };
    if (options.out !== undefined) await writeFile(options.out, `${JSON.stringify(answer, null, 2)}\n`);
    return {
      answer,
      human:
        `${thingName} provisioned with certificate ${answer.certificateId}; endpoint ${answer.endpoint}\n` +
        (options.out === undefined
          ? ''
          : `install it on the device: provision install --response ${options.out}\n`),
    };
  }
  if (action === 'rotate') {
    const body =
      ids.length > 0 ? { deviceIds: [...ids] } : { deviceType: need(options.type, 'device ids or --type') };
    const answer = (await api.call('POST', 'devices/rotate', body)) as {
      requested: string[];
      unknown: string[];
    };
    const unknown = answer.unknown.length === 0 ? '' : `; not registered: ${answer.unknown.join(', ')}`;
    return { answer, human: `rotation requested of ${answer.requested.length} device(s)${unknown}\n` };
  }
  if (action === 'allow') {
    if (ids.length === 0) need(undefined, 'serial numbers');
    const answer = (await api.call('POST', 'devices/allow', {
      deviceType: need(options.type, '--type'),
      serialNumbers: [...ids],
      ...(options.again === true ? { again: true } : {}),
    })) as { allowed: string[]; alreadyClaimed: string[] };
    const used =
      answer.alreadyClaimed.length === 0
        ? ''
        : `; used already (allow them again with --again): ${answer.alreadyClaimed.join(', ')}`;
    return { answer, human: `${answer.allowed.length} serial number(s) allowed${used}\n` };
  }
  const deviceId = need(ids[0], 'a device id');
  const answer = (await api.call('POST', `devices/${encodeURIComponent(deviceId)}/revoke`, {
    ...(options.certificate === undefined ? {} : { certificateId: options.certificate }),
    ...(options.reason === undefined ? {} : { reason: options.reason }),
  })) as { revoked: string[] };
  return { answer, human: `${deviceId}: ${answer.revoked.length} certificate(s) revoked\n` };
}
