import type { Access, AccessLevel, TableExtra } from './model.ts';

/** The level of an access: `['readWrite', 'scan']` → `readWrite`. */
export function accessLevel(access: Access): AccessLevel {
  return typeof access === 'string' ? access : access[0];
}

/** The table operations an access names beyond its level: `['readWrite', 'scan']` → `['scan']`. */
export function accessExtras(access: Access): TableExtra[] {
  if (typeof access === 'string') return [];
  const [, ...extras] = access;
  return extras;
}

/** `readWrite` → read and write; the others are themselves. */
export function accessParts(access: Access): Array<'read' | 'write'> {
  const level = accessLevel(access);
  return level === 'readWrite' ? ['read', 'write'] : [level];
}

/**
 * DynamoDB actions of each part of a table access. Reading is by key (GetItem, BatchGetItem) and by
 * key condition (Query, on the table and its named indexes); writing is one item by key. Nothing else
 * comes with a level: Scan, DeleteItem and BatchWriteItem are {@link TABLE_EXTRA_ACTIONS}, and
 * ConditionCheckItem (transactions) and DescribeTable no handler calls.
 */
export const TABLE_ACTIONS = {
  read: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
  write: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
} as const;

/**
 * The action each table extra grants. BatchWriteItem is one IAM action for puts and deletes alike
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/api-permissions-reference.html),
 * so a function that batch-writes may delete: it asks for `batchWrite` by name.
 */
export const TABLE_EXTRA_ACTIONS: Readonly<Record<TableExtra, string>> = {
  scan: 'dynamodb:Scan',
  delete: 'dynamodb:DeleteItem',
  batchWrite: 'dynamodb:BatchWriteItem',
};

/**
 * Every DynamoDB action `access` to a table allows, the same list the IAM grant is rendered from, so a
 * local check of a function's calls can use it too.
 */
export function tableActions(access: Access): string[] {
  return [
    ...accessParts(access).flatMap((part) => TABLE_ACTIONS[part]),
    ...accessExtras(access).map((extra) => TABLE_EXTRA_ACTIONS[extra]),
  ];
}
