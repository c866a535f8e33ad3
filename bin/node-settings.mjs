// How the local platform's Node process is started (bin/start.mjs), shared with the benchmarks that
// measure it against a bare baseline in a process set up the same way. Measured with 1,000 simulated
// devices, RSS after the fleet has been up for 300 s (see bench/sim-fleet.bench.ts and the README):
//
// - MALLOC_ARENA_MAX=2: glibc gives each thread that allocates its own 64 MB malloc arena (V8's GC
//   helpers, libuv's pool, LevelDB's compaction), and freed memory stays in them: about 330 MB of RSS at
//   1,000 devices. It must be set before the process starts, hence a launcher. Ignored off glibc.
// - --heap-growing-percent=20: V8 lets the old generation grow to 1.2 times what survived the last full
//   GC, not up to 4 times. The fleet's long-lived state barely changes once it is up, so full GCs stay
//   rare: 798 MB at the former 50 %, 754 MB at 20 %, 731 MB at 10 % (with the loader below).
// - --max-semi-space-size=8: the young generation's halves grow to 8 MB instead of 16 (V8's default on
//   64-bit): −43 MB, with bring-up no slower.
// - --import ./ts-loader.mjs: TypeScript without esbuild's keepNames (see ts-loader.mjs): −18 to −33 MB.

const LOADER = new URL('./ts-loader.mjs', import.meta.url).href;

/** Node's flags, before the entry point (a `.ts` file). */
export const NODE_FLAGS = ['--heap-growing-percent=20', '--max-semi-space-size=8', '--import', LOADER];

/** Environment the process starts with (the caller's own values win). */
export const NODE_ENV = { MALLOC_ARENA_MAX: '2' };
