export * from './batcher.ts';
export * from './disk-queue.ts';
export * from './frame.ts';
export * from './journal.ts';
export * from './sender.ts';
export * from './uplink.ts';
