/** Node's flags, before `--import tsx` and the entry point. */
export declare const NODE_FLAGS: readonly string[];
/** Environment the process starts with (the caller's own values win). */
export declare const NODE_ENV: Readonly<Record<string, string>>;
