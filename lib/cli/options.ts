import { parseArgs } from 'node:util';
import { DELTA_OPTIONS } from './firmware-delta-command.ts';

/** The command line: every option any command reads (node:util parseArgs). */
export function parse(argv: readonly string[]) {
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

/** The options given. */
export type Values = ReturnType<typeof parse>['values'];
