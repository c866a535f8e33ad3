export * from './errors.ts';
export * from './exposure.ts';
export * from './gateway.ts';
export * from './observers.ts';
export * from './sensors.ts';
