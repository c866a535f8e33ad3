import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../../lambdas/shared/logger.ts';
import type { TopicRule } from '../topology/model.ts';
import { evaluateRule, RuleEvaluationError, ruleSelects, topicMatches } from '../topology/rule-event.ts';
import type { BrokerMessage, LocalBroker } from './broker.ts';
import type { LocalFunction } from './functions.ts';
import type { PlatformLog } from './platform-log.ts';
import type { TopicBackend } from './streams/backend.ts';
import { WorkQueue } from './work-queue.ts';

export interface RulesRunnerOptions {
  readonly broker: LocalBroker;
  readonly functions: ReadonlyMap<string, LocalFunction>;
  readonly log: PlatformLog;
  /** Where `rule-errors.jsonl` (the error action) and `dead-letters.jsonl` (failed invocations) go. */
  readonly dataDir: string;
  /** Pauses before each retry of a failed invocation; Lambda retries async invocations twice. @default [200, 1000] */
  readonly retryDelaysMs?: readonly number[];
  /** @default 64 */
  readonly concurrency?: number;
  /** Rules whose action appends to a stream (IoT Core's Kafka action in AWS). */
  readonly ingest?: ReadonlyArray<{
    readonly name: string;
    readonly rule: TopicRule;
    readonly topic: string;
    readonly key: string;
  }>;
  /** Where ingest rules append. */
  readonly streams?: Pick<TopicBackend, 'produce'>;
}

/** The local rules engine: each rule's filter → the rule's output → its function, invoked asynchronously. */
export interface RulesRunner {
  /** Resolves once every message received so far has been handled (or dead-lettered). */
  idle(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Evaluates every topology rule on every authorized message, as IoT Core's rules engine does, and
 * invokes the rule's function with what the rendered SQL would produce.
 *
 * Failure handling mirrors AWS: a message the rule cannot evaluate goes to the error action (here
 * `rule-errors.jsonl`); a function that throws is retried like an async Lambda invocation (twice) and
 * then dead-lettered (`dead-letters.jsonl`).
 */
export function startRulesRunner(options: RulesRunnerOptions): RulesRunner {
  const queue = new WorkQueue(options.concurrency ?? 64, (error) =>
    options.log.event('error', 'rules runner task failed', describeError(error)),
  );
  const retryDelays = options.retryDelaysMs ?? [200, 1000];
  const bindings: Array<{ rule: TopicRule; fn: LocalFunction }> = [];
  for (const fn of options.functions.values()) {
    for (const rule of fn.spec.rules ?? []) bindings.push({ rule, fn });
  }

  const record = (file: string, entry: Record<string, unknown>) =>
    appendFile(
      join(options.dataDir, file),
      `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`,
    );

  const invoke = async (fn: LocalFunction, event: unknown, topic: string) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await fn.invoke(event);
        return;
      } catch (error) {
        const delay = retryDelays[attempt];
        if (delay === undefined) {
          options.log.event('error', 'invocation failed after retries; dead-lettered', {
            function: fn.name,
            topic,
            attempts: attempt + 1,
            ...describeError(error),
          });
          await record('dead-letters.jsonl', {
            function: fn.name,
            topic,
            event,
            attempts: attempt + 1,
            ...describeError(error),
          });
          return;
        }
        await sleep(delay);
      }
    }
  };

  const ingest = (message: BrokerMessage) => {
    for (const target of options.ingest ?? []) {
      if (!topicMatches(target.rule.topic, message.topic)) continue;
      queue.push(async () => {
        let event: Record<string, unknown>;
        try {
          event = evaluateRule(target.rule, message);
        } catch (error) {
          if (!(error instanceof RuleEvaluationError)) throw error;
          await record('rule-errors.jsonl', {
            ingest: target.name,
            topic: message.topic,
            reason: error.message,
          });
          return;
        }
        try {
          await options.streams?.produce(target.topic, [
            { key: String(event[target.key]), value: JSON.stringify(event) },
          ]);
        } catch (error) {
          // What the Kafka action could not deliver goes to the error action, as in AWS.
          options.log.event('error', 'ingest rule could not append to its stream', {
            ingest: target.name,
            topic: message.topic,
            stream: target.topic,
            ...describeError(error),
          });
          await record('rule-errors.jsonl', {
            ingest: target.name,
            topic: message.topic,
            stream: target.topic,
            ...describeError(error),
            payload: message.payload.toString('base64'),
          });
        }
      });
    }
  };

  const onMessage = (message: BrokerMessage) => {
    ingest(message);
    for (const { rule, fn } of bindings) {
      if (!topicMatches(rule.topic, message.topic)) continue;
      queue.push(async () => {
        let event: Record<string, unknown>;
        try {
          event = evaluateRule(rule, message);
        } catch (error) {
          if (!(error instanceof RuleEvaluationError)) throw error;
          options.log.event('warn', 'rule could not evaluate message; sent to error action', {
            function: fn.name,
            topic: message.topic,
            reason: error.message,
          });
          await record('rule-errors.jsonl', {
            function: fn.name,
            topic: message.topic,
            clientId: message.clientId,
            reason: error.message,
            payload: message.payload.toString('base64'),
          });
          return;
        }
        if (!ruleSelects(rule, event)) return;
        await invoke(fn, event, message.topic);
      });
    }
  };
  options.broker.onMessage(onMessage);
  return { idle: () => queue.idle() };
}
