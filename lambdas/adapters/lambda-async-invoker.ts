import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';

/**
 * Starts another function without waiting for it: Lambda's asynchronous invocation
 * (`InvocationType: Event`, https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html). Lambda
 * queues the event, answers 202 at once, retries a failed run twice and then hands the event to the
 * function's dead-letter queue. Locally, the platform's Lambda endpoint does the same.
 */
export class LambdaAsyncInvoker {
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly props: {
      readonly client: LambdaClient;
      /** The function's name (its `<NAME>_FUNCTION_NAME` variable, from the topology). */
      readonly functionName: string;
    },
  ) {}

  /** Queues `payload` (as JSON) for the function. */
  async invoke(payload: unknown): Promise<void> {
    await this.props.client.send(
      new InvokeCommand({
        FunctionName: this.props.functionName,
        InvocationType: 'Event',
        Payload: this.encoder.encode(JSON.stringify(payload)),
      }),
    );
  }
}
