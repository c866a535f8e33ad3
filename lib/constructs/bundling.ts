import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** The runtime every fleetkit function runs on. */
export const FLEET_RUNTIME = Runtime.NODEJS_24_X;

/** The architecture every fleetkit function runs on. */
export const FLEET_ARCHITECTURE = Architecture.ARM_64;

/**
 * esbuild's ESM output has no `require`; a bundled CommonJS dependency that calls it (the AWS SDK
 * does, for Node built-ins) needs one made from `import.meta.url`.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __fleetkitCreateRequire } from 'node:module'; const require = __fleetkitCreateRequire(import.meta.url);";

/**
 * How every function is bundled: one minified ESM file with a source map, the AWS SDK inside it.
 * `FleetFunction` hands these to `NodejsFunction`; the cold-start bench bundles with the same values
 * through {@link esbuildOptions}, so what it measures is what gets deployed.
 */
export const FLEET_BUNDLING = {
  format: OutputFormat.ESM,
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // The SDK is bundled so the code that runs is the version the tests ran, not the runtime's copy.
  bundleAwsSDK: true,
  forceDockerBundling: false,
} as const satisfies BundlingOptions;

/**
 * The esbuild options `NodejsFunction` derives from {@link FLEET_BUNDLING} (aws-lambda-nodejs's
 * `Bundling.buildEsbuildArgs`: target from the runtime's Node version, platform node, no externals
 * because the SDK is bundled), for building a function's bundle without a CDK synth.
 *
 * @param entry the handler's `index.ts`
 * @param outfile where the bundle goes; name it `index.mjs`, as `NodejsFunction` does for ESM
 */
export function esbuildOptions(entry: string, outfile: string): BuildOptions {
  const nodeVersion = /nodejs(\d+)/.exec(FLEET_RUNTIME.name)?.[1];
  if (nodeVersion === undefined) throw new Error(`runtime ${FLEET_RUNTIME.name} names no Node version`);
  return {
    entryPoints: [entry],
    bundle: true,
    outfile,
    target: `node${nodeVersion}`,
    platform: 'node',
    format: FLEET_BUNDLING.format,
    minify: FLEET_BUNDLING.minify,
    sourcemap: FLEET_BUNDLING.sourceMap,
    sourcesContent: FLEET_BUNDLING.sourcesContent,
    banner: { js: FLEET_BUNDLING.banner },
    mainFields: [...FLEET_BUNDLING.mainFields],
  };
}
