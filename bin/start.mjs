// `npm start`: runs the local platform (bin/local.ts) in a Node process set up for what it is — one
// long-running process holding a simulated fleet of up to thousands of TLS connections: the memory
// settings, the malloc and the TypeScript loader of node-settings.mjs, which must be in place before
// the process starts (a parent-and-child pair of processes, as tsx's own launcher has).
//
// Written in plain JavaScript so it runs before any TypeScript loader.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { launchEnv, NODE_FLAGS } from './node-settings.mjs';

const entry = fileURLToPath(new URL('./local.ts', import.meta.url));
let env;
try {
  env = launchEnv();
} catch (error) {
  console.error(`could not start the local platform: ${error.message}`);
  process.exit(1);
}
const child = spawn(process.execPath, [...NODE_FLAGS, entry, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env,
});

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
