import type { Clock } from '../ota/ports.ts';
import type { DeviceTransport } from '../transport/ports.ts';

/** The platform did not answer a request in time, or answered on `/rejected`. */
export class IdentityRequestError extends Error {
  override readonly name = 'IdentityRequestError';

  constructor(
    readonly topic: string,
    message: string,
    /** The `/rejected` body, when there was one. */
    readonly rejected?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/**
 * One request of an AWS-style MQTT request/response API: subscribe to `<topic>/accepted` and
 * `<topic>/rejected` first (as the APIs require), publish the request, and wait for one of them.
 *
 * @returns the `/accepted` body
 * @throws IdentityRequestError on `/rejected` or after `timeoutMs`
 */
export async function requestReply(
  transport: DeviceTransport,
  clock: Clock,
  topic: string,
  body: unknown,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  let settle: (answer: { outcome: 'accepted' | 'rejected'; body: Record<string, unknown> }) => void =
    () => {};
  const answered = new Promise<{ outcome: 'accepted' | 'rejected'; body: Record<string, unknown> }>(
    (resolve) => {
      settle = resolve;
    },
  );
  const handler = (outcome: 'accepted' | 'rejected') => (_topic: string, payload: Uint8Array) => {
    try {
      settle({ outcome, body: JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown> });
    } catch {
      settle({ outcome: 'rejected', body: { message: 'the answer is not JSON' } });
    }
  };
  const unsubscribe = await Promise.all([
    transport.subscribe(`${topic}/accepted`, handler('accepted')),
    transport.subscribe(`${topic}/rejected`, handler('rejected')),
  ]);
  const abort = new AbortController();
  try {
    await transport.publish(topic, JSON.stringify(body), { qos: 1 });
    const timeout = clock.sleep(timeoutMs, abort.signal).then(
      () => undefined,
      () => undefined,
    );
    const answer = await Promise.race([answered, timeout]);
    if (answer === undefined)
      throw new IdentityRequestError(topic, `no answer on ${topic} within ${timeoutMs} ms`);
    if (answer.outcome === 'rejected') {
      throw new IdentityRequestError(topic, `${topic} rejected: ${JSON.stringify(answer.body)}`, answer.body);
    }
    return answer.body;
  } finally {
    abort.abort();
    await Promise.all(unsubscribe.map((off) => off()));
  }
}
