import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFleetkit } from '../../lib/stacks/fleetkit-app.ts';

const CDK_CONTEXT = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;
const dir = mkdtempSync(join(tmpdir(), 'fleetkit-edge-stack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The app with an edge artifact (a placeholder: the stack only publishes the file). */
function synthWithEdge(edge?: { componentVersion?: string; tokenExchangeRoleName?: string }) {
  const artifactFile = join(dir, 'fleetkit-edge.zip');
  writeFileSync(artifactFile, 'placeholder artifact');
  const app = new App({
    outdir: join(dir, `cdk.out-${Math.random().toString(36).slice(2)}`),
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  const fleetkit = buildFleetkit(app, { stage: 'test', edge: { artifactFile, ...edge } });
  return { app, fleetkit };
}

describe('the Edge stack', () => {
  it('is built only when the app is given an artifact', () => {
    // Act
    const app = new App({
      context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const fleetkit = buildFleetkit(app, { stage: 'test' });

    // Assess
    expect(fleetkit.edge).toBeUndefined();
    expect(app.node.tryFindChild('Edge')).toBeUndefined();
  });

  it("registers the component version and lets the cores' token exchange role download the artifact", () => {
    // Act
    const { fleetkit } = synthWithEdge({ componentVersion: '1.0.7', tokenExchangeRoleName: 'MyCoreRole' });

    // Assess
    const edge = fleetkit.edge;
    expect(edge?.stackName).toBe('fleetkit-test-edge');
    const template = Template.fromStack(edge as NonNullable<typeof edge>);
    template.resourceCountIs('AWS::GreengrassV2::ComponentVersion', 1);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: ['MyCoreRole'],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 's3:GetObject', Effect: 'Allow' })]),
      },
    });
    expect(edge?.component.componentVersion).toBe('1.0.7');
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    // Prepare
    const { app, fleetkit } = synthWithEdge();

    // Act
    const report = new AwsSolutionsChecks(app).validateScope(
      fleetkit.edge as NonNullable<typeof fleetkit.edge>,
    );

    // Assess
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
  });
});
