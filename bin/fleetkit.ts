import { App, type Environment, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildFleetkit } from '../lib/stacks/fleetkit-app.ts';

/**
 * The CDK app: one stage per synth.
 *
 * Context: `stage` (default `dev`), `account` / `region` (default the CLI's `CDK_DEFAULT_*`; without
 * either the stacks are environment-agnostic), `fleetkit:mskInstanceType`, `fleetkit:kafkaVersion`,
 * `fleetkit:logRetentionDays`. Example: `npx cdk deploy --all -c stage=prod -c region=eu-west-1`.
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

buildFleetkit(app, {
  stage: context('stage') ?? 'dev',
  ...(env === undefined ? {} : { env }),
  ...(mskInstanceType === undefined ? {} : { mskInstanceType }),
  ...(kafkaVersion === undefined ? {} : { kafkaVersion }),
  ...(logRetentionDays === undefined ? {} : { logRetentionDays: Number(logRetentionDays) }),
});

// Findings fail the synth; acknowledgements sit next to the construct that causes them, with reasons.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
