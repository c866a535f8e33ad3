import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../lib/cli/api.ts';
import { COMMANDS, suggestCommands } from '../../../lib/cli/commands.ts';
import { bashCompletion } from '../../../lib/cli/completion.ts';
import { nextStep } from '../../../lib/cli/hints.ts';
import { HELP } from '../../../lib/cli/main.ts';
import { HUMAN, table } from '../../../lib/cli/tables.ts';
import { runCapturedCli } from '../../support/cli.ts';

const cli = (...argv: string[]) =>
  runCapturedCli(argv, {
    // Nothing listens on port 9: an API call fails as Unreachable.
    env: { FLEETKIT_API: 'http://127.0.0.1:9', FLEETKIT_DATA_DIR: '/nonexistent' },
    sign: async (request) => request.headers,
  });

/** What bash completes for a command line (the cursor after its last word). */
function complete(line: string): string[] {
  const words = line.split(' ');
  const script = `${bashCompletion()}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
_fleetkit_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter((w) => w !== '');
}

describe('the CLI as a shell tool', () => {
  it('documents every command it completes and dispatches', () => {
    // `rollout pause|resume|cancel|rollback` documents four commands on one line.
    for (const { path } of COMMANDS) {
      const [group, action] = path.split(' ');
      const pattern = action === undefined ? `\\b${group}\\b` : `\\b${group} ([a-z]+\\|)*${action}\\b`;
      expect(HELP, path).toMatch(new RegExp(pattern));
    }
  });

  it.each([
    [
      'fleetkit ',
      [
        'firmware',
        'model',
        'rollout',
        'devices',
        'audit',
        'command',
        'fleet',
        'alerts',
        'shadow',
        'sim',
        'console',
        'completion',
      ],
    ],
    ['fleetkit rollout p', ['preview', 'pause']],
    ['fleetkit --json rollout st', ['status']],
    ['fleetkit rollout status first --w', ['--watch']],
    ['fleetkit firmware upload fw.bin --ver', ['--version']],
    ['fleetkit alerts --d', ['--device', '--data-dir']],
  ])('completes "%s" in bash', (line, expected) => {
    expect(complete(line)).toEqual(expected);
  });

  it.each([
    [['rollout', 'puase'], ['rollout pause']],
    [
      ['devices'],
      [
        'devices list',
        'devices show',
        'devices set',
        'devices provision',
        'devices rotate',
        'devices revoke',
        'devices allow',
      ],
    ],
    [['firmwre', 'list'], ['firmware list']],
    [['explode'], []],
  ])('suggests %j for a mistyped command', (typed, expected) => {
    expect(suggestCommands(typed)).toEqual(expected);
  });

  it('says what to run instead of an unknown command', async () => {
    const result = await cli('rollout', 'puase', 'first');
    expect(result.code).toBe(2);
    expect(result.err).toBe(
      "unknown command 'rollout puase' (see --help)\nnext: did you mean: rollout pause\n",
    );
  });

  it('writes errors as JSON on stderr with --json, and nothing on stdout', async () => {
    const usage = await cli('--json', 'rollout', 'puase');
    const unreachable = await cli('--json', 'fleet', 'health');
    expect(usage.out).toBe('');
    expect(JSON.parse(usage.err)).toEqual({
      error: {
        code: 'UsageError',
        message: "unknown command 'rollout puase' (see --help)",
        hint: 'did you mean: rollout pause',
      },
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.out).toBe('');
    expect(JSON.parse(unreachable.err).error).toMatchObject({
      code: 'Unreachable',
      status: 0,
      hint: expect.stringContaining('npm start'),
    });
  });

  it('prints a bad option as JSON too', async () => {
    const result = await cli('--json', 'fleet', 'health', '--bogus');
    expect(result.code).toBe(2);
    expect(JSON.parse(result.err).error.code).toBe('UsageError');
  });

  it.each([
    ['UnknownFirmware', ['rollout', 'create', 'r.json'], /firmware upload/],
    ['NotFound', ['devices', 'show', 'x'], /devices list/],
    ['InvalidClientTokenId', ['fleet', 'health'], /--data-dir/],
    ['NoEligibleDevices', ['rollout', 'create', 'r.json'], /rollout preview/],
    ['PreviewTooLarge', ['rollout', 'preview', 'r.json'], /rollout create/],
    ['InternalError', ['fleet', 'health'], /log/],
  ])('names a next step for %s', (code, command, hint) => {
    const status = code === 'InternalError' ? 500 : 400;
    expect(nextStep(new ApiError(status, code, 'refused', {}), command)).toMatch(hint);
  });
});

describe("the CLI's tables", () => {
  it('pads columns to the widest cell', () => {
    expect(
      table(
        ['a', 'long header'],
        [
          ['xyz', 1],
          [undefined, 22],
        ],
      ),
    ).toBe('a    long header\n---  -----------\nxyz  1\n-    22\n');
  });

  it('shows a rollout preview: waves, control cohort, skips', () => {
    const text = HUMAN['rollout preview']?.({
      targeted: 10,
      eligible: 8,
      control: 1,
      skipped: { alreadyOnVersion: 2, downgrade: 0 },
      waves: [
        { wave: 0, planned: 3 },
        { wave: 1, planned: 4 },
        { wave: 2, planned: 1, control: true },
      ],
    });
    expect(text).toContain('10 targeted, 8 eligible, 1 held back as the control cohort');
    expect(text).toContain('2 (control)  1');
    expect(text).toContain('skipped 2: alreadyOnVersion');
    expect(text).not.toContain('downgrade');
  });
});
