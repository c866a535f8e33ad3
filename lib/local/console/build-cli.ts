import { resolve } from 'node:path';
import { buildConsole, writeConsole } from './build.ts';

// npm run build:console [-- <outDir>]: the console's static files, for any web server (the CDK app builds
// its own copy when it deploys the static site).
const outDir = resolve(process.argv[2] ?? 'console/dist');
const assets = await buildConsole();
await writeConsole(assets, outDir);
for (const [name, bytes] of assets)
  process.stdout.write(`${name.padEnd(12)} ${(bytes.length / 1024).toFixed(1)} KiB\n`);
process.stdout.write(`written to ${outDir}\n`);
