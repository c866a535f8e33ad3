// How the local platform's Node process is started (bin/start.mjs), shared with the benchmarks that
// measure it against a bare baseline in a process set up the same way. Figures: 1,000 simulated devices
// in one process, RSS 300 s after the fleet is up, one run per setting, two runs side by side:
//
// - MALLOC_ARENA_MAX=2: glibc gives each thread that allocates its own 64 MB malloc arena (V8's GC
//   helpers, libuv's pool, LevelDB's compaction), and freed memory stays in them: about 330 MB of RSS at
//   1,000 devices. It must be set before the process starts, hence a launcher. Ignored off glibc.
// - MALLOC_MMAP_THRESHOLD_=65536: glibc maps an allocation of 64 KB or more on its own pages when the
//   arena has no free chunk it fits in. 698 → 644 MB. Why is not settled: the reason first given (each
//   TLS socket's 64 KB receive buffer, Node's NodeBIO, mapped alone so only its written pages are
//   resident) does not hold, since malloc_stats at 1,000 devices shows at most 466 chunks ever mapped
//   against 2,000 sockets: most receive buffers still come from the arena, fully resident. The cost:
//   an mmap and munmap for each such allocation that is mapped (zlib's state, large Buffers).
// - --heap-growing-percent=20: V8 lets the old generation grow to 1.2 times what survived the last full
//   GC, not up to 4 times. Once the fleet is up its long-lived state barely changes, so full GCs stay
//   rare. Under tsx: 798 MB at 50 %, 754 MB at 20 %; with the loader below, 780 MB at 50 %, 747 MB at
//   20 %, 731 MB at 10 %.
// - --max-semi-space-size=8: the young generation's halves grow to 8 MB, not 16 (V8's default on
//   64-bit): 747 → 704 MB. At 4 MB: 682 MB, but the fleet took 258 s to come up instead of 210 s.
// - --compact-on-every-full-gc: after a forced GC at 1,000 devices the old generation had 190 MB
//   committed for 140 MB live, in partly filled pages that V8's heuristics left alone. Full GCs are rare
//   once the fleet is up, so moving objects at each costs little: with jemalloc, `npm start -- --devices
//   1000` 270 s after the start: 554 → 482 MB, 68 % of a core either way, the fleet up in 94 s (one run);
//   `npm run bench -- sim-fleet`: 403 → 347 KB per device.
// - Tried and not taken, with jemalloc and the flags above, one run each, 270 s after the start (490 MB,
//   68 % of a core from 150 to 270 s, the fleet up in 78 s): --max-semi-space-size=4 477 MB, 71 %, 94 s;
//   =2 453 MB, 84 %, 104 s; =2 with --heap-growing-percent=10 448 MB, 110 %, 161 s. The CPU goes,
//   likely, to a smaller young generation promoting more short-lived garbage that full GCs then compact.
// - the TypeScript loader (ts-loader.mjs), in place of tsx: without esbuild's keepNames.
//
// `npm run bench -- sim-fleet` with all of them on glibc: 506 KB per device (was 646; 544 without the
// mmap threshold). jemalloc, where installed, replaces glibc's malloc: see chooseAllocator below.

import { existsSync } from 'node:fs';

const LOADER = new URL('./ts-loader.mjs', import.meta.url).href;

/** Node's flags, before the entry point (a `.ts` file). */
export const NODE_FLAGS = [
  '--heap-growing-percent=20',
  '--max-semi-space-size=8',
  '--compact-on-every-full-gc',
  '--import',
  LOADER,
];

/** Environment the process starts with under glibc's malloc (the caller's own values win). */
export const NODE_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536' };

// jemalloc, preloaded when it is installed (Debian and Ubuntu: libjemalloc2). What is left of glibc's
// arena at 1,000 devices is almost all in use (malloc_trim gave back 9 MB of 246), and most of what is in
// use is the TLS sockets' receive buffers (heaptrack: about 164 of 230 KB per device): 64 KB each, two
// sockets per device, of which a quiet connection writes about 20 KB. glibc carves them out of memory
// other allocations have already touched, so all of each is resident. jemalloc gives freed pages back to
// the kernel at once (dirty_decay_ms:0), so a buffer taken later lies on fresh pages and only what is
// written becomes resident. One arena, as MALLOC_ARENA_MAX does for glibc. `npm start -- --devices 1000`,
// one run after the other: glibc 635 MB 270 s after the start, 69 % of a core from 150 to 270 s, the
// fleet up in 87.4 s; jemalloc 554 MB, 68 %, 87.8 s. Tried and not taken: the thread caches off as well
// (550 MB, but the fleet took 116 s), and pages given back after 1 s (695 MB, two runs side by side).

/** Where Debian and Ubuntu (multiarch), Fedora and Alpine install jemalloc 5. */
export const JEMALLOC_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2',
  '/usr/local/lib/libjemalloc.so.2',
];

/** jemalloc's settings (MALLOC_CONF). */
export const JEMALLOC_CONF = 'narenas:1,dirty_decay_ms:0,muzzy_decay_ms:0';

/** How to get jemalloc where it is missing. */
export const JEMALLOC_INSTALL = 'apt-get install libjemalloc2 (dnf install jemalloc, apk add jemalloc)';

/**
 * The malloc the platform's process gets. `FLEETKIT_MALLOC`: `auto` (the default: jemalloc when
 * installed, else the system's), `jemalloc` (an error when it is not installed) or `system`. A
 * process the caller already preloads a library into keeps just that.
 *
 * @param {{ env?: Record<string, string | undefined>, platform?: string, exists?: (path: string) => boolean }} [host]
 * @returns {{ name: 'jemalloc' | 'glibc' | 'system' | 'preloaded', env: Record<string, string>, note: string }}
 */
export function chooseAllocator({
  env = process.env,
  platform = process.platform,
  exists = existsSync,
} = {}) {
  const choice = (env.FLEETKIT_MALLOC ?? 'auto').toLowerCase();
  if (!['auto', 'jemalloc', 'system'].includes(choice))
    throw new Error(`FLEETKIT_MALLOC=${env.FLEETKIT_MALLOC} is not a choice: use auto, jemalloc or system`);
  if (env.LD_PRELOAD)
    return { name: 'preloaded', env: {}, note: `as preloaded (LD_PRELOAD=${env.LD_PRELOAD})` };
  const jemalloc = platform === 'linux' ? JEMALLOC_PATHS.find((path) => exists(path)) : undefined;
  if (choice === 'jemalloc' && jemalloc === undefined)
    throw new Error(
      platform === 'linux'
        ? `FLEETKIT_MALLOC=jemalloc, but libjemalloc.so.2 is in none of ${JEMALLOC_PATHS.join(', ')}: ${JEMALLOC_INSTALL}, or unset FLEETKIT_MALLOC`
        : `FLEETKIT_MALLOC=jemalloc works on Linux only; unset it`,
    );
  if (choice !== 'system' && jemalloc !== undefined)
    return {
      name: 'jemalloc',
      env: { LD_PRELOAD: jemalloc, MALLOC_CONF: JEMALLOC_CONF },
      note: `jemalloc (${jemalloc})`,
    };
  if (platform !== 'linux') return { name: 'system', env: {}, note: "the system's malloc" };
  return {
    name: 'glibc',
    env: {},
    note:
      choice === 'system'
        ? "glibc's malloc (FLEETKIT_MALLOC=system)"
        : `glibc's malloc; with jemalloc a simulated device takes about 90 KB less: ${JEMALLOC_INSTALL}`,
  };
}

/**
 * The environment to start the process with: the caller's, over NODE_ENV and the allocator's, and
 * FLEETKIT_MALLOC_NOTE for the banner to say which malloc it got.
 */
export function launchEnv(env = process.env, allocator = chooseAllocator({ env })) {
  return { ...NODE_ENV, ...allocator.env, ...env, FLEETKIT_MALLOC_NOTE: allocator.note };
}
