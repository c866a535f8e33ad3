import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack, Token } from 'aws-cdk-lib';
import { CfnComponentVersion } from 'aws-cdk-lib/aws-greengrassv2';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { parse } from 'yaml';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The artifact's file name in `edge/recipe.yaml` (and what `npm run build:edge` writes). */
const ARTIFACT_FILE_NAME = 'fleetkit-edge.zip';
const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** The artifact zip is not where the construct looks for it. */
export class EdgeArtifactMissingError extends Error {
  override readonly name = 'EdgeArtifactMissingError';

  constructor(readonly artifactFile: string) {
    super(`the edge component artifact ${artifactFile} does not exist: run \`npm run build:edge\` first`);
  }
}

/** The recipe, or a prop, is not something the construct can register. */
export class EdgeRecipeError extends Error {
  override readonly name = 'EdgeRecipeError';
}

/** Properties of an {@link EdgeComponent}. */
export interface EdgeComponentProps {
  /**
   * The component recipe; its artifact URIs are replaced by the asset's.
   * @default - `edge/recipe.yaml`
   */
  readonly recipeFile?: string;
  /**
   * The zip `npm run build:edge` wrote.
   * @default - `edge/greengrass-build/artifacts/<ComponentName>/<ComponentVersion>/fleetkit-edge.zip`
   */
  readonly artifactFile?: string;
  /**
   * The version to register. A Greengrass component version is immutable: a deployment that changes the
   * artifact or the recipe must also raise the version, or CloudFormation's replacement fails with a
   * conflict. CI can pass a build number here.
   * @default - the recipe's `ComponentVersion`
   */
  readonly componentVersion?: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Replaces `from` with `to` in every string of `value`, returning a new value. */
function replaceInStrings(value: Json, from: string, to: string): Json {
  if (typeof value === 'string') return value.split(from).join(to);
  if (Array.isArray(value)) return value.map((item) => replaceInStrings(item, from, to));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceInStrings(v, from, to)]));
  }
  return value;
}

/**
 * The fleetkit edge agent as a Greengrass v2 component version: the artifact zip published as a CDK
 * asset, and `AWS::GreengrassV2::ComponentVersion` registered with the recipe whose artifact URI is the
 * asset's S3 URL.
 *
 * The asset's object is named by its hash (`<hash>.zip`), and Greengrass unpacks an archive to a folder
 * named like the file; so the recipe's `{artifacts:decompressedPath}/fleetkit-edge/` paths are rewritten
 * to `{artifacts:decompressedPath}/<hash>/`. `Digest` and `Algorithm` are left out: Greengrass computes
 * them when it creates the component version.
 *
 * Core devices download the artifact with their token exchange role: pass it to {@link grantRead}.
 */
export class EdgeComponent extends Construct {
  /** The artifact in the CDK assets bucket. */
  readonly asset: Asset;
  readonly componentName: string;
  readonly componentVersion: string;
  /** The registered component version. */
  readonly resource: CfnComponentVersion;
  /** `arn:aws:greengrass:<region>:<account>:components:<name>:versions:<version>`. */
  readonly componentVersionArn: string;

  constructor(scope: Construct, id: string, props: EdgeComponentProps = {}) {
    super(scope, id);
    const recipeFile = props.recipeFile ?? join(PROJECT_ROOT, 'edge/recipe.yaml');
    const recipe = parse(readFileSync(recipeFile, 'utf8')) as Json;
    if (!isObject(recipe) || typeof recipe.ComponentName !== 'string') {
      throw new EdgeRecipeError(`${recipeFile} has no ComponentName`);
    }
    const version = props.componentVersion ?? recipe.ComponentVersion;
    if (typeof version !== 'string' || !SEMVER.test(version)) {
      throw new EdgeRecipeError(
        `componentVersion must be a semantic version (major.minor.patch); got ${JSON.stringify(version)}`,
      );
    }
    const manifests = Array.isArray(recipe.Manifests) ? recipe.Manifests.filter(isObject) : [];
    const artifacts = manifests.flatMap((m) =>
      Array.isArray(m.Artifacts) ? m.Artifacts.filter(isObject) : [],
    );
    const ours = artifacts.filter(
      (a) => typeof a.URI === 'string' && basename(a.URI) === ARTIFACT_FILE_NAME && a.Unarchive === 'ZIP',
    );
    if (ours.length === 0) {
      throw new EdgeRecipeError(`${recipeFile} has no artifact ${ARTIFACT_FILE_NAME} with Unarchive: ZIP`);
    }
    this.componentName = recipe.ComponentName;
    this.componentVersion = version;

    const artifactFile =
      props.artifactFile ??
      join(PROJECT_ROOT, 'edge/greengrass-build/artifacts', this.componentName, version, ARTIFACT_FILE_NAME);
    if (!existsSync(artifactFile)) throw new EdgeArtifactMissingError(artifactFile);
    this.asset = new Asset(this, 'Artifact', { path: artifactFile });
    if (Token.isUnresolved(this.asset.s3ObjectKey)) {
      throw new EdgeRecipeError(
        'the asset object key is only known at deploy time (legacy synthesizer); use the default stack synthesizer',
      );
    }
    const unpackedAs = basename(this.asset.s3ObjectKey, extname(this.asset.s3ObjectKey));

    for (const artifact of ours) {
      artifact.URI = this.asset.s3ObjectUrl;
      delete artifact.Digest;
      delete artifact.Algorithm;
    }
    const relocated = replaceInStrings(
      { ...recipe, ComponentVersion: version },
      `{artifacts:decompressedPath}/${basename(ARTIFACT_FILE_NAME, '.zip')}/`,
      `{artifacts:decompressedPath}/${unpackedAs}/`,
    );
    this.resource = new CfnComponentVersion(this, 'ComponentVersion', {
      inlineRecipe: Stack.of(this).toJsonString(relocated),
    });
    this.componentVersionArn = this.resource.attrArn;
  }

  /** Lets `grantee` (a core device's token exchange role) download this artifact, and only it. */
  grantRead(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject'],
      resourceArns: [this.asset.bucket.arnForObjects(this.asset.s3ObjectKey)],
    });
  }
}
