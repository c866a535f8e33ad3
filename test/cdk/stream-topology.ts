import { readFileSync } from 'node:fs';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { Topology } from '../../lib/topology/model.ts';

/** The feature flags `cdk synth` uses, so tests synthesize what deploys. */
export const CDK_CONTEXT = JSON.parse(
  readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'),
).context;

/** An App that synthesizes fast: placeholder bundling, no CloudFormation validation. */
export function fastApp(): App {
  return new App({
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
}

/**
 * The shape of the telemetry pipeline before its handlers exist: an ingest rule feeding a stream, a
 * processor consuming it and producing to two others, a consumer-only function and one that touches
 * no stream. Existing handler folders stand in; only the wiring is under test.
 */
export const streamTopology = {
  resources: {
    registry: { kind: 'table', description: 'test table', partitionKey: { name: 'deviceId', type: 'S' } },
    telemetry: { kind: 'stream', description: 'raw telemetry', topic: 'test-telemetry', partitions: 6 },
    processed: { kind: 'stream', description: 'processed', topic: 'test-processed', partitions: 3 },
    deadLetters: { kind: 'stream', description: 'rejected records', topic: 'test-dlq', partitions: 1 },
  },
  functions: {
    processor: {
      handler: 'ingest-status',
      description: 'test: consumes telemetry, produces processed records and dead letters',
      kafka: [
        {
          topic: 'test-telemetry',
          batchSize: 500,
          maxBatchingWindowSeconds: 1,
          startingPosition: 'TRIM_HORIZON',
        },
      ],
      uses: { telemetry: 'read', processed: 'write', deadLetters: 'write', registry: 'readWrite' },
    },
    reader: {
      handler: 'api-devices',
      description: 'test: only consumes processed records',
      kafka: [
        { topic: 'test-processed', batchSize: 100, maxBatchingWindowSeconds: 0, startingPosition: 'LATEST' },
      ],
      uses: { processed: 'read' },
    },
    api: {
      handler: 'api-shadows',
      description: 'test: no stream',
      routes: ['GET /devices'],
      uses: { registry: 'read' },
    },
  },
  ingest: {
    telemetry: {
      description: 'test: device telemetry into the telemetry stream',
      rule: {
        topic: 'devices/+/+/telemetry',
        payload: 'base64',
        add: {
          deviceType: 'topic(2)',
          deviceId: 'topic(3)',
          clientId: 'clientid()',
          receivedAt: 'timestamp()',
        },
      },
      stream: 'telemetry',
      key: 'deviceId',
    },
  },
} as const satisfies Topology<'registry' | 'telemetry' | 'processed' | 'deadLetters'>;

/** The logical id of a construct's default resource. */
export function logicalId(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** A template value as readable text: `Fn::Join` joined, `Ref` → `<X>`, `Fn::GetAtt` → `<X.Attr>`. */
export function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(flat).join(',');
  const v = value as Record<string, unknown>;
  if (Array.isArray(v['Fn::Join'])) {
    const [delimiter, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(flat).join(delimiter);
  }
  if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  if (Array.isArray(v['Fn::GetAtt'])) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if (typeof v['Fn::ImportValue'] === 'string') return `<import ${v['Fn::ImportValue']}>`;
  if (typeof v['Fn::Sub'] === 'string') return v['Fn::Sub'].replace(/\$\{([^}]+)\}/g, '<$1>');
  return JSON.stringify(value);
}

/** One Allow statement, its resources as `flat` text. */
export interface StatementText {
  actions: string[];
  resources: string[];
  conditions: unknown;
}

/** Every Allow statement of the policies attached to `role`, a construct of `stack` (whose template is `template`). */
export function roleStatements(stack: Stack, template: Template, role: IConstruct): StatementText[] {
  const roleId = logicalId(stack, role);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .map((s: { Action: string | string[]; Resource: unknown; Condition?: unknown }) => ({
      actions: [s.Action].flat(),
      resources: [s.Resource].flat().map(flat),
      conditions: s.Condition,
    }));
}
