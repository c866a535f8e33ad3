/** Where the CLI writes: a stream, and whether it is a terminal (bars redraw in place only there). */
export interface Output {
  write(text: string): void;
  readonly isTTY?: boolean;
}

const WIDTH = 30;

/** `[#########.........]  45 %  label`, for a fraction in [0, 1]. */
export function bar(fraction: number, label = ''): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(Math.floor(f * 100)).padStart(3)} %${label === '' ? '' : `  ${label}`}`;
}

/**
 * A progress bar: redrawn in place on a terminal; elsewhere (CI logs, pipes) one line per 10 % step, so a
 * log shows progress without thousands of lines.
 */
export function progressBar(out: Output, title: string) {
  let lastStep = -1;
  return {
    update(fraction: number, label = ''): void {
      if (out.isTTY === true) {
        out.write(`\r${title} ${bar(fraction, label)}\u001b[K`);
        return;
      }
      // The 100 % line is done()'s, with its final label.
      const step = Math.floor(Math.min(1, Math.max(0, fraction)) * 10);
      if (step === lastStep || step >= 10) return;
      lastStep = step;
      out.write(`${title} ${bar(fraction, label)}\n`);
    },
    done(label = ''): void {
      if (out.isTTY === true) out.write(`\r${title} ${bar(1, label)}\u001b[K\n`);
      else out.write(`${title} ${bar(1, label)}\n`);
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
