/** Node's flags, before the entry point (a `.ts` file): they include the TypeScript loader. */
export declare const NODE_FLAGS: readonly string[];
/** Environment the process starts with (the caller's own values win). */
export declare const NODE_ENV: Readonly<Record<string, string>>;
