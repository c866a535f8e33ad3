// How the local platform's Node process is started (bin/start.mjs), shared with the benchmarks that
// measure it against a bare baseline in a process set up the same way. Figures: 1,000 simulated devices
// in one process, RSS 300 s after the fleet is up, one run per setting, two runs side by side:
//
// - MALLOC_ARENA_MAX=2: glibc gives each thread that allocates its own 64 MB malloc arena (V8's GC
//   helpers, libuv's pool, LevelDB's compaction), and freed memory stays in them: about 330 MB of RSS at
//   1,000 devices. It must be set before the process starts, hence a launcher. Ignored off glibc.
// - MALLOC_MMAP_THRESHOLD_=65536: allocations of 64 KB and more get pages of their own. Node gives each
//   TLS socket a 64 KB receive buffer (its NodeBIO, sized by libuv's read size) and keeps it; a quiet
//   connection writes about 20 KB of it. Carved out of an arena that other allocations have churned,
//   the buffer reuses memory they had touched, so all of it is resident; mapped on its own, only the
//   pages written are. Two sockets per device here (both ends of each connection): 698 → 644 MB (the
//   bare baseline, where little else allocates, does not change). The cost: an mmap and munmap for each
//   such allocation (zlib's state when a batch is compressed, large Buffers).
// - --heap-growing-percent=20: V8 lets the old generation grow to 1.2 times what survived the last full
//   GC, not up to 4 times. Once the fleet is up its long-lived state barely changes, so full GCs stay
//   rare. Under tsx: 798 MB at 50 %, 754 MB at 20 %; with the loader below, 780 MB at 50 %, 747 MB at
//   20 %, 731 MB at 10 %.
// - --max-semi-space-size=8: the young generation's halves grow to 8 MB, not 16 (V8's default on
//   64-bit): 747 → 704 MB. At 4 MB: 682 MB, but the fleet took 258 s to come up instead of 210 s.
// - the TypeScript loader (ts-loader.mjs), in place of tsx: without esbuild's keepNames.
//
// `npm run bench -- sim-fleet` with all of them: 506 KB per device (was 646; 544 without the mmap threshold).

const LOADER = new URL('./ts-loader.mjs', import.meta.url).href;

/** Node's flags, before the entry point (a `.ts` file). */
export const NODE_FLAGS = ['--heap-growing-percent=20', '--max-semi-space-size=8', '--import', LOADER];

/** Environment the process starts with (the caller's own values win). */
export const NODE_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536' };
