import type { HandlerRuntime } from './runtime.ts';

/** Log levels, lowest to highest. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A structured logger: one JSON object per line, with the service name on every line. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Creates a JSON-lines logger writing through the handler runtime. */
export function createLogger(service: string, runtime: HandlerRuntime): Logger {
  const write = (level: LogLevel, message: string, fields: Record<string, unknown> = {}): void => {
    runtime.write(
      JSON.stringify({ level, time: new Date(runtime.now()).toISOString(), service, message, ...fields }),
    );
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

/** Serialises an error for a log line without losing its type. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message };
  return { errorType: typeof error, errorMessage: String(error) };
}
