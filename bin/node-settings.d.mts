/** Node's flags, before the entry point (a `.ts` file): they include the TypeScript loader. */
export declare const NODE_FLAGS: readonly string[];
/** Environment the process starts with under glibc's malloc (the caller's own values win). */
export declare const NODE_ENV: Readonly<Record<string, string>>;
/** Where Debian and Ubuntu (multiarch), Fedora and Alpine install jemalloc 5. */
export declare const JEMALLOC_PATHS: readonly string[];
/** jemalloc's settings (MALLOC_CONF). */
export declare const JEMALLOC_CONF: string;
/** How to get jemalloc where it is missing. */
export declare const JEMALLOC_INSTALL: string;

export interface Allocator {
  readonly name: 'jemalloc' | 'glibc' | 'system' | 'preloaded';
  /** What the process's environment needs for it. */
  readonly env: Readonly<Record<string, string>>;
  /** One line for the banner. */
  readonly note: string;
}

/** The malloc the platform's process gets (FLEETKIT_MALLOC: auto, jemalloc or system). */
export declare function chooseAllocator(host?: {
  env?: Record<string, string | undefined>;
  platform?: string;
  exists?: (path: string) => boolean;
}): Allocator;

/** The environment to start the process with: the caller's, over NODE_ENV and the allocator's. */
export declare function launchEnv(
  env?: Record<string, string | undefined>,
  allocator?: Allocator,
): Record<string, string | undefined>;
