import { describe, expect, it } from 'vitest';
import { tableActions } from '../../../lib/topology/access.ts';
import type { Access, Topology } from '../../../lib/topology/model.ts';
import { TopologyError, validateTopology } from '../../../lib/topology/validate.ts';

describe('tableActions', () => {
  it.each<[string, Access, string[]]>([
    [
      'read: by key and by query, never a Scan',
      'read',
      ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
    ],
    ['write: one item by key, never a delete', 'write', ['dynamodb:PutItem', 'dynamodb:UpdateItem']],
    [
      'readWrite: both',
      'readWrite',
      [
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ],
    ],
    [
      'a scan named after the level',
      ['read', 'scan'],
      ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
    ],
    [
      'a delete and a batch write named after the level',
      ['write', 'delete', 'batchWrite'],
      ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
    ],
  ])('%s', (_, access, actions) => {
    expect(tableActions(access)).toEqual(actions);
  });
});

describe('table extras in uses', () => {
  function using(access: Access, bucketAccess: Access = access): Topology {
    return {
      resources: {
        registry: { kind: 'table', description: 'r', partitionKey: { name: 'deviceId', type: 'S' } },
        firmware: { kind: 'bucket', description: 'f', versioned: true },
      },
      functions: {
        f: { handler: 'f-handler', description: 'f', uses: { registry: access } },
        g: { handler: 'g-handler', description: 'g', uses: { firmware: bucketAccess } },
      },
    };
  }

  it('accepts a level followed by distinct extras on a table', () => {
    expect(() => validateTopology(using(['readWrite', 'scan', 'delete'], 'read'))).not.toThrow();
  });

  it('refuses an extra on a bucket, naming the function and the resource kind', () => {
    expect(() => validateTopology(using(['read', 'scan']))).toThrow(TopologyError);
    expect(() => validateTopology(using(['read', 'scan']))).toThrow(
      /function 'g'.*'scan' applies to tables only; 'firmware' is a bucket/,
    );
  });

  it('refuses an extra named twice, showing the access', () => {
    expect(() => validateTopology(using(['read', 'scan', 'scan'], 'read'))).toThrow(
      /names an operation twice: \["read","scan","scan"\]/,
    );
  });
});
