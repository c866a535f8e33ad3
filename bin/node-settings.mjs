// How the local platform's Node process is started (bin/start.mjs), shared with the benchmarks that
// measure it against a bare baseline in a process set up the same way. Measured with 1,000 simulated
// devices (see bench/sim-fleet.bench.ts and the README's figures):
//
// - MALLOC_ARENA_MAX=2: glibc gives each thread that allocates its own 64 MB malloc arena (V8's GC
//   helpers, libuv's pool, LevelDB's compaction), and freed memory stays in them: about 330 MB of RSS at
//   1,000 devices. It must be set before the process starts, hence a launcher. Ignored off glibc.
// - --heap-growing-percent=50: V8 lets the old generation grow to 1.5 times what survived the last full
//   GC instead of up to 4 times (heap ~370 MB instead of ~670 MB at 1,000 devices).

/** Node's flags, before `--import tsx` and the entry point. */
export const NODE_FLAGS = ['--heap-growing-percent=50'];

/** Environment the process starts with (the caller's own values win). */
export const NODE_ENV = { MALLOC_ARENA_MAX: '2' };
