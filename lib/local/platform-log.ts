import type { LocalMetrics } from './metrics-store.ts';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

/** Where the local platform's own events and its handlers' log lines go. */
export interface PlatformLog {
  /** A platform event (startup, denial, dead letter). */
  event(level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
  /** A line a handler wrote: EMF lines feed the metrics; others are shown by level. */
  handlerLine(functionName: string, line: string): void;
}

/**
 * Writes structured JSON lines to `out` — handlers' lines as they wrote them — and feeds EMF lines to
 * `metrics`. `normal` shows warnings and errors; `verbose` shows every line; `quiet` nothing.
 */
export function createPlatformLog(
  metrics: LocalMetrics,
  verbosity: Verbosity,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): PlatformLog {
  const shows = (level: string) =>
    verbosity === 'verbose' || (verbosity === 'normal' && (level === 'warn' || level === 'error'));
  return {
    event(level, message, fields = {}) {
      if (shows(level) || (verbosity === 'normal' && level === 'info')) {
        out(
          JSON.stringify({
            level,
            time: new Date().toISOString(),
            service: 'local-platform',
            message,
            ...fields,
          }),
        );
      }
    },
    handlerLine(functionName, line) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        if (shows('info')) out(`[${functionName}] ${line}`);
        return;
      }
      if (metrics.ingest(record)) {
        if (verbosity === 'verbose') out(line);
        return;
      }
      if (shows(String(record.level ?? 'info'))) out(line);
    },
  };
}
