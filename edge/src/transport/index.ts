export * from './errors.ts';
export * from './greengrass-ipc-transport.ts';
export * from './jobs-transport.ts';
export * from './mqtt-transport.ts';
export * from './open-transport.ts';
export * from './ports.ts';
export * from './subscriptions.ts';
export * from './topic-filter.ts';
