export * from './access.ts';
export * from './env.ts';
export * from './model.ts';
export * from './rule-event.ts';
export * from './rule-sql.ts';
export * from './topic-scope.ts';
export * from './validate.ts';
