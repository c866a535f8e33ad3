// `npm start`: runs the local platform (bin/local.ts) under tsx, in a Node process set up for what it is —
// one long-running process holding a simulated fleet of up to thousands of TLS connections. It takes the
// place of tsx's own launcher (the same parent-and-child pair of processes), adding two memory settings
// measured with 1,000 simulated devices (see bench/sim-fleet.bench.ts and the README's figures):
//
// - MALLOC_ARENA_MAX=2: glibc gives each thread that allocates its own 64 MB malloc arena (V8's GC
//   helpers, libuv's pool, LevelDB's compaction), and freed memory stays in them: about 330 MB of RSS at
//   1,000 devices. It must be set before the process starts, hence this launcher. Ignored off glibc.
// - --heap-growing-percent=50: V8 lets the old generation grow to 1.5 times what survived the last full
//   GC instead of up to 4 times (heap ~370 MB instead of ~670 MB at 1,000 devices).
//
// Written in plain JavaScript so it runs before tsx is loaded.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('./local.ts', import.meta.url));
const child = spawn(
  process.execPath,
  ['--heap-growing-percent=50', '--import', 'tsx', entry, ...process.argv.slice(2)],
  { stdio: 'inherit', env: { MALLOC_ARENA_MAX: '2', ...process.env } },
);

// Ctrl-C reaches both processes (one process group); a signal sent to this one alone is passed on. The
// platform stops once however many times it is told, and this process leaves with its exit status.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('error', (error) => {
  console.error(`could not start the local platform: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  process.exitCode = code ?? 1;
  if (signal !== null) console.error(`the local platform ended on ${signal}`);
});
