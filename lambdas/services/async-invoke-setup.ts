import { type HandlerEnv, requireEnv } from '../shared/runtime.ts';

/**
 * Starts a function asynchronously (see `LambdaAsyncInvoker`): `nameVariable` is the env var carrying
 * its deployed name (`<NAME>_FUNCTION_NAME`, given to the functions its `invokedBy` lists in
 * `lib/topology.ts`). The Lambda client is built on the first call, not at cold start: a function that
 * invokes once per rollout would otherwise load its code on every import.
 */
export function asyncInvokerFrom(env: HandlerEnv, nameVariable: string): (payload: unknown) => Promise<void> {
  const functionName = requireEnv(env, nameVariable);
  let invoker: Promise<{ invoke(payload: unknown): Promise<void> }> | undefined;
  const load = async () => {
    const [{ LambdaClient }, { LambdaAsyncInvoker }, { aws }] = await Promise.all([
      import('@aws-sdk/client-lambda'),
      import('../adapters/lambda-async-invoker.ts'),
      import('../shared/aws-config.ts'),
    ]);
    return new LambdaAsyncInvoker({ client: new LambdaClient(aws(env, 'LAMBDA')), functionName });
  };
  return async (payload) => {
    if (invoker === undefined) {
      const loading = load();
      // A failed load is not kept: the next call tries again.
      loading.catch(() => {
        if (invoker === loading) invoker = undefined;
      });
      invoker = loading;
    }
    await (await invoker).invoke(payload);
  };
}
