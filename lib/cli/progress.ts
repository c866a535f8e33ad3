import { MultiBar, SingleBar } from 'cli-progress';

/** Where the CLI writes: a stream, and whether it is a terminal (bars redraw in place only there). */
export interface Output {
  write(text: string): void;
  readonly isTTY?: boolean;
  /** A terminal's width. */
  readonly columns?: number;
}

/** cli-progress drawing fleetkit's bars: `label [######......] 45 % | detail`, 30 wide. */
const BAR_STYLE = {
  format: '{label} [{bar}] {percentage} % | {detail}',
  barCompleteChar: '#',
  barIncompleteChar: '.',
  barsize: 30,
  hideCursor: true,
  // Redrawn at most 10 times a second, and only when something changed.
  fps: 10,
  forceRedraw: false,
} as const;

/** A group of bars redrawn in place on a terminal (cli-progress's MultiBar), e.g. one per rollout wave. */
export function multiBar(out: Output): MultiBar {
  return new MultiBar({ ...BAR_STYLE, stream: out as NodeJS.WriteStream, clearOnComplete: false });
}

const WIDTH = 30;

/** `[#########.........]  45 %  label`, for a fraction in [0, 1]. */
export function bar(fraction: number, label = ''): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(f * 100)).padStart(3)} %${label === '' ? '' : `  ${label}`}`;
}

/**
 * A progress bar: on a terminal, cli-progress's, redrawn in place; elsewhere (CI logs, pipes) one line per
 * 10 % step, so a log shows progress without thousands of lines (cli-progress writes nothing there, or a
 * line on a timer).
 */
export function progressBar(out: Output, title: string) {
  if (out.isTTY === true) {
    const tty = new SingleBar({ ...BAR_STYLE, stream: out as NodeJS.WriteStream });
    tty.start(1000, 0, { label: title, detail: '' });
    return {
      update: (fraction: number, label = '') =>
        tty.update(Math.round(Math.min(1, Math.max(0, fraction)) * 1000), { detail: label }),
      done(label = ''): void {
        tty.update(1000, { detail: label });
        tty.stop();
      },
    };
  }
  let lastStep = -1;
  return {
    update(fraction: number, label = ''): void {
      // The 100 % line is done()'s, with its final label.
      const step = Math.floor(Math.min(1, Math.max(0, fraction)) * 10);
      if (step === lastStep || step >= 10) return;
      lastStep = step;
      out.write(`${title} ${bar(fraction, label)}\n`);
    },
    done(label = ''): void {
      out.write(`${title} ${bar(1, label)}\n`);
    },
  };
}

/** Bytes as people read them. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
