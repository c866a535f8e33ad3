import { build } from './app.ts';

/** Lambda entry: built once per execution environment from the function's env. */
export const handler = build(process.env);
