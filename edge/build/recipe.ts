import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Document, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { RecipeFormatError } from './errors.ts';

/** The artifact's file name; Greengrass unpacks it to `{artifacts:decompressedPath}/fleetkit-edge/`. */
export const ARTIFACT_FILE_NAME = 'fleetkit-edge.zip';

/** The parts of `recipe.yaml` and `gdk-config.json` the build needs. */
export interface ComponentSource {
  readonly componentName: string;
  readonly componentVersion: string;
  /** `version` in gdk-config.json: a semantic version or `NEXT_PATCH`; names the GDK artifacts folder. */
  readonly gdkVersion: string;
  /** The recipe, comments kept, to fill in. */
  readonly recipe: Document;
  readonly recipeFile: string;
}

interface GdkConfig {
  readonly component?: Readonly<
    Record<string, { readonly version?: string; readonly build?: { readonly build_system?: string } }>
  >;
}

/**
 * Reads the recipe and the GDK configuration and checks they agree on the component.
 *
 * @throws RecipeFormatError naming the file and what is wrong in it
 */
export function readComponentSource(recipeFile: string, gdkConfigFile: string): ComponentSource {
  const recipe = parseDocument(readFileSync(recipeFile, 'utf8'));
  if (recipe.errors.length > 0) {
    throw new RecipeFormatError(recipeFile, recipe.errors.map((e) => e.message).join('; '));
  }
  const componentName = recipe.get('ComponentName');
  const componentVersion = recipe.get('ComponentVersion');
  if (typeof componentName !== 'string' || typeof componentVersion !== 'string') {
    throw new RecipeFormatError(recipeFile, 'needs ComponentName and ComponentVersion as strings');
  }
  const gdk = JSON.parse(readFileSync(gdkConfigFile, 'utf8')) as GdkConfig;
  const names = Object.keys(gdk.component ?? {});
  const entry = gdk.component?.[componentName];
  if (names.length !== 1 || entry === undefined) {
    throw new RecipeFormatError(
      gdkConfigFile,
      `must configure exactly the recipe's component ${componentName}; got ${names.join(', ') || 'none'}`,
    );
  }
  const gdkVersion = entry.version ?? '';
  if (gdkVersion !== componentVersion && gdkVersion !== 'NEXT_PATCH') {
    throw new RecipeFormatError(
      gdkConfigFile,
      `version '${gdkVersion}' differs from the recipe's ComponentVersion '${componentVersion}'; make them equal`,
    );
  }
  if (artifactUris(recipe).length === 0) {
    throw new RecipeFormatError(recipeFile, `has no manifest artifact named ${ARTIFACT_FILE_NAME}`);
  }
  return { componentName, componentVersion, gdkVersion, recipe, recipeFile };
}

/** The artifact entries (YAML maps) whose URI names {@link ARTIFACT_FILE_NAME}. */
function artifactUris(recipe: Document) {
  const manifests = recipe.get('Manifests');
  if (!isSeq(manifests)) return [];
  return manifests.items.flatMap((manifest) => {
    const artifacts = isMap(manifest) ? manifest.get('Artifacts') : undefined;
    if (!isSeq(artifacts)) return [];
    return artifacts.items.filter((artifact) => {
      const uri = isMap(artifact) ? artifact.get('URI', true) : undefined;
      return isScalar(uri) && typeof uri.value === 'string' && basename(uri.value) === ARTIFACT_FILE_NAME;
    });
  });
}

/** Where the artifact is published, and what it hashes to. */
export interface PublishedArtifact {
  /** `s3://bucket/key`. */
  readonly uri: string;
  /** SHA-256 of the zip, base64, as Greengrass spells artifact digests. */
  readonly sha256Base64: string;
}

/**
 * Renders the recipe to publish: every manifest's artifact gets the URI and the digest.
 *
 * Greengrass recomputes `Digest` and `Algorithm` when it creates the component version (they are
 * read-only in the recipe reference); writing them records which build this recipe describes.
 */
export function renderPublishRecipe(source: ComponentSource, artifact: PublishedArtifact): string {
  const recipe = source.recipe.clone();
  for (const entry of artifactUris(recipe)) {
    if (!isMap(entry)) continue;
    entry.set('URI', artifact.uri);
    entry.set('Digest', artifact.sha256Base64);
    entry.set('Algorithm', 'SHA-256');
  }
  return recipe.toString({ lineWidth: 0 });
}
