import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs edge/recipe.yaml's Run script under `sh` as the nucleus would, with a stand-in `node` (a shell
 * script) first on the PATH, and tells what it did: its starts, the SIGTERMs it handled, and any
 * process left behind. Linux only (processes are found through /proc), as the recipe is.
 */

/**
 * What the stand-in `node` does at one start, after installing its SIGTERM trap and recording the
 * start. None forks: a child of the stand-in would outlive a stand-in killed before its trap, and its
 * command line (the stand-in's, until it execs) would be taken for the agent's.
 */
export const agentDoes = {
  exit: (code: number) => `exit ${code}`,
  /** Runs until a SIGTERM, which it handles (exit 0): opening a FIFO nobody writes to blocks. */
  runUntilTerm: 'read -r line 2>/dev/null < "$here/never"',
  /** Asks for a restart (75) just as the nucleus' SIGTERM reaches the script. */
  restartWhileStopped: 'kill -TERM "$PPID"; exit 75',
} as const;

/** One run of the Run script. */
export interface RecipeRun {
  /** The folder standing in for `{artifacts:decompressedPath}` (and `{work:path}`, by default). */
  readonly dir: string;
  readonly child: ChildProcess;
  /** The script's exit code. */
  readonly exited: Promise<number | null>;
  /** The stand-in's arguments, one entry per start. */
  starts(): string[];
  /** How many SIGTERMs the stand-in handled. */
  terms(): number;
  /** Processes still running from this run's folder: the agent, had it been orphaned. */
  survivors(): number[];
}

const runDirs: string[] = [];

/** The pids whose command line mentions `text`. */
export function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** How to run the script. */
export interface RecipeRunOptions {
  /** Changes the script, to put a signal at an exact point. */
  readonly edit?: (script: string) => string;
  /** What `{work:path}` is. @default the run's folder */
  readonly workPath?: string;
}

/**
 * Runs `script` (the recipe's Run script) with a stand-in `node` that does `behaviours[n]` at its n-th
 * start. The stand-in installs its SIGTERM trap before it records a start, so a test that waits for a
 * start knows a signal will be handled.
 */
export function runRecipeScript(
  script: string,
  behaviours: readonly string[],
  { edit = (s) => s, workPath }: RecipeRunOptions = {},
): RecipeRun {
  const dir = mkdtempSync(join(tmpdir(), 'recipe-run-'));
  runDirs.push(dir);
  execFileSync('mkfifo', [join(dir, 'never')]);
  writeFileSync(
    join(dir, 'node'),
    [
      '#!/bin/sh',
      `here='${dir}'`,
      `trap 'echo TERM >> "$here/terms"; exit 0' TERM`,
      'echo "$*" >> "$here/starts"',
      'n=0; while read -r line; do n=$((n + 1)); done < "$here/starts"',
      'case $n in',
      ...behaviours.map((behaviour, i) => `  ${i + 1}) ${behaviour} ;;`),
      'esac',
    ].join('\n'),
  );
  chmodSync(join(dir, 'node'), 0o755);
  const filled = script
    .replaceAll('{artifacts:decompressedPath}', dir)
    .replaceAll('{work:path}', workPath ?? dir);
  const child = spawn('sh', ['-c', edit(filled)], { env: { PATH: `${dir}:${process.env.PATH ?? ''}` } });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '');
  return {
    dir,
    child,
    exited,
    starts: () => read('starts').split('\n').filter(Boolean),
    terms: () => read('terms').split('\n').filter(Boolean).length,
    survivors: () => processesMentioning(dir),
  };
}

/** Kills what the runs so far left running and removes their folders (for `afterEach`). */
export function cleanUpRuns(): void {
  for (const dir of runDirs.splice(0)) {
    for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An edit that puts `kill -TERM $$` (the script signalling itself, delivered before the next command)
 * right after the first line matching `after`: a signal at an exact point of the script.
 */
export function signalAfter(after: RegExp): (script: string) => string {
  return (script) => {
    const edited = script.replace(after, (line) => `${line}\nkill -TERM $$`);
    if (edited === script) throw new Error(`no line matches ${after} in the Run script`);
    return edited;
  };
}
