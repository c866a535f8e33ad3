export * from './device-policy.ts';
export * from './errors.ts';
export * from './messages.ts';
export * from './parse.ts';
export * from './rule-events.ts';
export * from './topics.ts';
