/**
 * Every command of the CLI with the options it reads: what shell completion offers and what a mistyped
 * command is compared with ("did you mean"). The help text (`HELP` in main.ts) describes each; a test
 * holds the two together.
 */
export interface CommandSpec {
  /** The words that name it: `rollout status`. */
  readonly path: string;
  /** Options besides the global ones, without dashes. */
  readonly options: readonly string[];
}

/** Options every command takes. */
export const GLOBAL_OPTIONS = ['api', 'data-dir', 'aws', 'json', 'help'] as const;

export const COMMANDS: readonly CommandSpec[] = [
  {
    path: 'firmware upload',
    options: [
      'version',
      'device-types',
      'min-version',
      'notes',
      'multipart',
      'part-size',
      'max-deltas',
      'base-dir',
    ],
  },
  { path: 'firmware deltas', options: ['version', 'max-deltas', 'base-dir'] },
  { path: 'model upload', options: ['version', 'device-types', 'notes'] },
  { path: 'model list', options: [] },
  { path: 'model show', options: [] },
  { path: 'model withdraw', options: [] },
  { path: 'firmware list', options: [] },
  { path: 'firmware show', options: [] },
  { path: 'firmware keys', options: [] },
  { path: 'firmware withdraw', options: [] },
  { path: 'rollout create', options: ['model'] },
  { path: 'rollout preview', options: [] },
  { path: 'rollout list', options: [] },
  { path: 'rollout status', options: ['watch'] },
  { path: 'rollout executions', options: ['status'] },
  { path: 'rollout pause', options: ['reason'] },
  { path: 'rollout resume', options: ['reason'] },
  { path: 'rollout cancel', options: ['reason'] },
  { path: 'rollout rollback', options: ['reason'] },
  { path: 'devices list', options: ['type'] },
  { path: 'devices show', options: [] },
  { path: 'devices set', options: ['groups', 'attr', 'unset'] },
  { path: 'devices provision', options: ['type', 'csr', 'out'] },
  { path: 'devices rotate', options: ['type', 'all-at-once'] },
  { path: 'devices revoke', options: ['certificate', 'reason'] },
  { path: 'devices allow', options: ['type', 'again'] },
  { path: 'audit', options: ['check', 'device', 'all'] },
  { path: 'command send', options: ['param', 'wait', 'expires'] },
  { path: 'command status', options: [] },
  { path: 'command list', options: ['status'] },
  {
    path: 'command fleet',
    options: ['param', 'type', 'groups', 'devices', 'attr', 'rate', 'expires', 'watch'],
  },
  { path: 'command fleet-status', options: ['watch'] },
  { path: 'fleet health', options: [] },
  { path: 'alerts', options: ['device'] },
  { path: 'shadow get', options: ['name'] },
  { path: 'shadow update', options: ['name'] },
  { path: 'sim status', options: [] },
  { path: 'sim faults', options: [] },
  {
    path: 'sim fault',
    options: [
      'things',
      'type',
      'groups',
      'percent',
      'salt',
      'for',
      'every',
      'down',
      'rsrp',
      'rsrq',
      'to-percent',
      'over',
      'celsius',
      'version',
      'fail-at',
    ],
  },
  { path: 'sim clear', options: ['all'] },
  { path: 'console', options: [] },
  { path: 'completion', options: [] },
];

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row.push(
        Math.min(
          (row[j - 1] as number) + 1,
          (previous[j] as number) + 1,
          (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
        ),
      );
    previous = row;
  }
  return previous[b.length] as number;
}

/**
 * The commands closest to what was typed (`rollout puase` → `rollout pause`; `devices` → its
 * subcommands), best first; none when nothing is close.
 */
export function suggestCommands(typed: readonly string[]): string[] {
  const words = typed.join(' ');
  const group = COMMANDS.filter((c) => c.path.startsWith(`${typed[0] ?? ''} `));
  if (typed.length === 1 && group.length > 0) return group.map((c) => c.path);
  const scored = COMMANDS.map((c) => ({ path: c.path, d: distance(words, c.path) }))
    .filter((c) => c.d <= Math.max(2, Math.floor(c.path.length / 4)))
    .sort((a, b) => a.d - b.d);
  return scored.slice(0, 3).map((c) => c.path);
}
