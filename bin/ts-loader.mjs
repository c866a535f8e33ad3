// The TypeScript loader `npm start` runs the local platform with (`node --import ./bin/ts-loader.mjs`),
// in place of tsx. The two differ in one setting: tsx always has esbuild keep function names
// (`keepNames`), which wraps every function in a call that redefines its `name`. That only matters when
// names are changed, as in a minified bundle, and a file transformed on its own keeps its names; but
// each redefinition moves the function's properties into a dictionary: about 20 KB of heap per simulated
// device (heap snapshots of the platform with 200 devices, forced GC, with and without).
//
// Our sources import each other by their `.ts` names (tsconfig's allowImportingTsExtensions), so Node's
// own resolution finds every file and only loading needs a hook (ts-hooks.mjs). Tests, the CLI and the
// benchmarks run under tsx, except the processes bench/sim-fleet.bench.ts starts as npm start does.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
// Stack traces point into the TypeScript sources (each transformed file carries its source map).
process.setSourceMapsEnabled(true);
