export * from './codec.ts';
export * from './resolution.ts';
export * from './rice.ts';
