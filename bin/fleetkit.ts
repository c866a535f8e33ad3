import { App, type Environment, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildFleetkit } from '../lib/stacks/fleetkit-app.ts';

/**
 * The CDK app: one stage per synth.
 *
 * Context: `stage` (default `dev`), `account` / `region` (default the CLI's `CDK_DEFAULT_*`; without
 * either the stacks are environment-agnostic), `fleetkit:mskInstanceType`, `fleetkit:kafkaVersion`,
 * `fleetkit:logRetentionDays`, `fleetkit:alarmEmail`, `fleetkit:iotAccountLogging` (`false` for a second stage in
 * one account: IoT logging is account-wide), and for the edge component (an `Edge` stack, only then)
 * `fleetkit:edgeArtifact` (the zip from `npm run build:edge`), `fleetkit:edgeVersion`,
 * `fleetkit:edgeTokenExchangeRole` (default `GreengrassV2TokenExchangeRole`). Example: `npx cdk deploy --all -c stage=prod -c region=eu-west-1`.
 */
const app = new App();

function context(key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

const account = context('account') ?? process.env.CDK_DEFAULT_ACCOUNT;
const region = context('region') ?? process.env.CDK_DEFAULT_REGION;
const env: Environment | undefined =
  account === undefined && region === undefined
    ? undefined
    : { ...(account === undefined ? {} : { account }), ...(region === undefined ? {} : { region }) };
const mskInstanceType = context('fleetkit:mskInstanceType');
const kafkaVersion = context('fleetkit:kafkaVersion');
const logRetentionDays = context('fleetkit:logRetentionDays');
const iotDataEndpointHost = context('fleetkit:iotDataEndpoint');
const deviceEndpointHost = context('fleetkit:deviceEndpoint');
const settingsJson = context('fleetkit:settings');
const alarmEmail = context('fleetkit:alarmEmail');
const iotAccountLogging = context('fleetkit:iotAccountLogging');
const edgeArtifact = context('fleetkit:edgeArtifact');
const edgeVersion = context('fleetkit:edgeVersion');
const edgeTokenExchangeRole = context('fleetkit:edgeTokenExchangeRole');
const requireApproval = context('fleetkit:requireApproval');

/** `-c fleetkit:settings='{"SHADOW_MAX_STATE_BYTES":"65536"}'`: a JSON object of strings. */
function parseSettings(json: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error(`context fleetkit:settings must be a JSON object, got '${json}'`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`context fleetkit:settings must be a JSON object, got '${json}'`);
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}

/**
 * `-c fleetkit:requireApproval=true`: release approval (issue 12), a shortcut for the firmware API's
 * `FIRMWARE_REQUIRE_APPROVAL` setting; an explicit `fleetkit:settings` value wins.
 */
function approvalSettings(value: string | undefined): Record<string, string> {
  if (value === undefined) return {};
  if (value !== 'true' && value !== 'false') {
    throw new Error(`context fleetkit:requireApproval must be true or false, got '${value}'`);
  }
  return { FIRMWARE_REQUIRE_APPROVAL: value };
}

const settings = {
  ...approvalSettings(requireApproval),
  ...(settingsJson === undefined ? {} : parseSettings(settingsJson)),
};

buildFleetkit(app, {
  stage: context('stage') ?? 'dev',
  ...(env === undefined ? {} : { env }),
  ...(mskInstanceType === undefined ? {} : { mskInstanceType }),
  ...(kafkaVersion === undefined ? {} : { kafkaVersion }),
  ...(logRetentionDays === undefined ? {} : { logRetentionDays: Number(logRetentionDays) }),
  ...(iotDataEndpointHost === undefined ? {} : { iotDataEndpointHost }),
  ...(deviceEndpointHost === undefined ? {} : { deviceEndpointHost }),
  ...(Object.keys(settings).length === 0 ? {} : { settings }),
  ...(alarmEmail === undefined ? {} : { alarmEmail }),
  // IoT logging is one per account and region: `-c fleetkit:iotAccountLogging=false` for a second stage.
  ...(iotAccountLogging === undefined ? {} : { iotAccountLogging: iotAccountLogging !== 'false' }),
  ...(edgeArtifact === undefined
    ? {}
    : {
        edge: {
          artifactFile: edgeArtifact,
          ...(edgeVersion === undefined ? {} : { componentVersion: edgeVersion }),
          ...(edgeTokenExchangeRole === undefined ? {} : { tokenExchangeRoleName: edgeTokenExchangeRole }),
        },
      }),
});

// Findings fail the synth; acknowledgements sit next to the construct that causes them, with reasons.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
