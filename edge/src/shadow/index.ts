export * from './copy-store.ts';
export * from './errors.ts';
export * from './json.ts';
export * from './ports.ts';
export * from './shadow-client.ts';
export * from './shadow-messages.ts';
export * from './shadow-sync.ts';
