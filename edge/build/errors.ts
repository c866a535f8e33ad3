/**
 * Errors of the edge packaging build. Each message says what was wrong and what to do next, because the
 * build runs unattended under `gdk component build` and in CI.
 */

/** Base of every packaging error, so a caller can tell them from bugs. */
export class EdgeBuildError extends Error {
  override readonly name: string = 'EdgeBuildError';
}

/** The agent's entry point does not exist. */
export class EdgeEntryMissingError extends EdgeBuildError {
  override readonly name = 'EdgeEntryMissingError';

  constructor(readonly entry: string) {
    super(`the edge agent's entry point ${entry} does not exist; create it, or pass --entry <file>`);
  }
}

/** esbuild refused the agent's sources. */
export class EdgeBundleError extends EdgeBuildError {
  override readonly name = 'EdgeBundleError';

  constructor(entry: string, messages: readonly string[]) {
    super(`bundling ${entry} failed:\n  ${messages.join('\n  ')}`);
  }
}

/** A package the agent needs at run time is not installed where the build looks for it. */
export class RuntimePackageMissingError extends EdgeBuildError {
  override readonly name = 'RuntimePackageMissingError';

  constructor(
    readonly packageName: string,
    requiredBy: string,
  ) {
    super(
      `${packageName} (needed by ${requiredBy}) is not installed; run \`ONNXRUNTIME_NODE_INSTALL=skip npm ci\` ` +
        'and build again',
    );
  }
}

/** An installed native package lacks the binary for a platform the component targets. */
export class NativeBinaryMissingError extends EdgeBuildError {
  override readonly name = 'NativeBinaryMissingError';

  constructor(packageName: string, platform: string, looked: string) {
    super(
      `${packageName} has no ${platform} binary (looked for ${looked}); reinstall it with \`npm ci\` ` +
        '(its npm package ships the linux x64 and arm64 binaries) and build again',
    );
  }
}

/** The model file does not match its manifest. */
export class ModelDigestMismatchError extends EdgeBuildError {
  override readonly name = 'ModelDigestMismatchError';

  constructor(file: string, expected: string, actual: string) {
    super(
      `${file} has SHA-256 ${actual}, but its manifest says ${expected}; regenerate both with ` +
        '`npx tsx edge/model/train.ts` and build again',
    );
  }
}

/** recipe.yaml or gdk-config.json is not what the build can package. */
export class RecipeFormatError extends EdgeBuildError {
  override readonly name = 'RecipeFormatError';

  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
  }
}
