import { describe, expect, it } from 'vitest';
import {
  functionEnv,
  invokeEnv,
  resourceEnvName,
  screamingSnake,
  usesOf,
} from '../../../lib/topology/env.ts';
import type { FunctionSpec, Resource, Topology } from '../../../lib/topology/model.ts';

const table: Resource = { kind: 'table', description: 't', partitionKey: { name: 'id', type: 'S' } };
const bucket: Resource = { kind: 'bucket', description: 'b', versioned: false };

const topology: Topology<'registry' | 'firmwareImages' | 'auditLog'> = {
  resources: { registry: table, firmwareImages: bucket, auditLog: table },
  functions: {},
};

describe('screamingSnake', () => {
  it.each<[string, string]>([
    ['registry', 'REGISTRY'],
    ['firmwareImages', 'FIRMWARE_IMAGES'],
    ['shadowDocumentsV2', 'SHADOW_DOCUMENTS_V2'],
    ['v2Table', 'V2_TABLE'],
    ['kebab-case-name', 'KEBAB_CASE_NAME'],
    ['already_snake', 'ALREADY_SNAKE'],
  ])('%s → %s', (name, expected) => {
    expect(screamingSnake(name)).toBe(expected);
  });
});

describe('resourceEnvName', () => {
  it.each<[string, Resource, string]>([
    ['registry', table, 'REGISTRY_TABLE_NAME'],
    ['firmwareImages', bucket, 'FIRMWARE_IMAGES_BUCKET_NAME'],
    ['firmwareImages', table, 'FIRMWARE_IMAGES_TABLE_NAME'],
  ])('%s as a %o → %s', (name, resource, expected) => {
    expect(resourceEnvName(name, resource)).toBe(expected);
  });
});

describe('functionEnv', () => {
  it.each<[string, FunctionSpec<'registry' | 'firmwareImages' | 'auditLog'>, Record<string, string>]>([
    [
      'one variable per used resource, with its physical name',
      { handler: 'h', description: 'd', uses: { registry: 'read', firmwareImages: 'readWrite' } },
      {
        REGISTRY_TABLE_NAME: 'phys-registry-table',
        FIRMWARE_IMAGES_BUCKET_NAME: 'phys-firmwareImages-bucket',
      },
    ],
    [
      'nothing for resources the function does not use',
      { handler: 'h', description: 'd', uses: { auditLog: 'write' } },
      { AUDIT_LOG_TABLE_NAME: 'phys-auditLog-table' },
    ],
    ['nothing at all for a function that uses nothing', { handler: 'h', description: 'd' }, {}],
  ])('gives %s', (_rule, fn, expected) => {
    // Act
    const env = functionEnv(topology, fn, (name, resource) => `phys-${name}-${resource.kind}`);

    // Assess
    expect(env).toStrictEqual(expected);
  });

  it('refuses a function that uses a resource the topology does not declare', () => {
    // Prepare
    const fn = {
      handler: 'h',
      description: 'd',
      uses: { registries: 'read' },
    } as unknown as FunctionSpec<'registry' | 'firmwareImages' | 'auditLog'>;

    // Act
    const act = () => functionEnv(topology, fn, () => 'x');

    // Assess
    expect(act).toThrow(/function h uses unknown resource 'registries'/);
  });
});

describe('invokeEnv', () => {
  it('names each function whose invokedBy lists the invoker, and nothing for the others', () => {
    // Prepare
    const functions = {
      api: { handler: 'api', description: 'd' },
      planner: { handler: 'planner', description: 'd', invokedBy: ['api'] },
      scheduler: { handler: 'scheduler', description: 'd', invokedBy: ['planner', 'api'] },
    };
    const table = { resources: {}, functions } as Topology;
    // Act
    const env = (name: string) => invokeEnv(table, name, (fn) => `fleetkit-test-${fn}`);
    // Assess
    expect(env('api')).toStrictEqual({
      PLANNER_FUNCTION_NAME: 'fleetkit-test-planner',
      SCHEDULER_FUNCTION_NAME: 'fleetkit-test-scheduler',
    });
    expect(env('planner')).toStrictEqual({ SCHEDULER_FUNCTION_NAME: 'fleetkit-test-scheduler' });
    expect(env('scheduler')).toStrictEqual({});
  });
});

describe('usesOf', () => {
  it('lists used resources in declaration order, with their access', () => {
    // Prepare
    const fn: FunctionSpec<'registry' | 'firmwareImages' | 'auditLog'> = {
      handler: 'h',
      description: 'd',
      uses: { firmwareImages: 'read', registry: 'write' },
    };

    // Act
    const uses = usesOf(topology, fn);

    // Assess
    expect(uses).toEqual([
      { name: 'firmwareImages', resource: bucket, access: 'read' },
      { name: 'registry', resource: table, access: 'write' },
    ]);
  });
});
