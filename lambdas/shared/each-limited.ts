/**
 * Runs `task` over `items`, at most `concurrency` at a time: a Lambda's SDK client keeps 50 sockets, and
 * thousands of requests started at once only queue behind them (and time out there).
 */
export async function eachLimited<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let item = items[next++]; item !== undefined; item = items[next++]) await task(item);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
