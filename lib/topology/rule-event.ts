import { randomUUID } from 'node:crypto';
import type { RuleExpression, TopicRule } from './model.ts';

/** What the rules engine knows about one message when it evaluates a rule. */
export interface RuleInput {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly clientId: string;
  /** The certificate id the message came in on; empty for the platform's own messages. */
  readonly principal?: string;
  /** Broker receive time, epoch ms: what `timestamp()` returns. */
  readonly receivedAt: number;
}

/** The rule could not produce an output for this message (AWS sends such failures to the error action). */
export class RuleEvaluationError extends Error {
  override readonly name = 'RuleEvaluationError';
}

/** Does an MQTT topic match a topic filter (`+` one level, `#` the rest)? MQTT 3.1.1 §4.7. */
export function topicMatches(filter: string, topic: string): boolean {
  // §4.7.2: a filter starting with a wildcard does not match topics starting with `$` ($SYS, $aws).
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

function evaluateExpression(expression: RuleExpression, input: RuleInput): string | number | undefined {
  if (expression === 'clientid()') return input.clientId;
  if (expression === 'principal()') return input.principal || undefined;
  if (expression === 'timestamp()') return input.receivedAt;
  if (expression === 'topic()') return input.topic;
  // A fresh id per message; a redelivery of the same event to the function keeps it (Lambda retries).
  if (expression === 'newuuid()') return randomUUID();
  const index = Number(/^topic\((\d+)\)$/.exec(expression)?.[1]);
  // topic(n) is 1-based and yields nothing past the last level, as in IoT SQL.
  return input.topic.split('/')[index - 1];
}

/**
 * Whether a rule's `where` selects the event it produced (what the SQL's WHERE does in AWS IoT): the
 * payload field, as it is in the event, equals the value.
 */
export function ruleSelects(rule: TopicRule, event: Readonly<Record<string, unknown>>): boolean {
  return rule.where === undefined || event[rule.where.field] === rule.where.equals;
}

/**
 * Produces the event a rule's action receives — what the rendered SQL would produce in AWS IoT.
 *
 * @throws RuleEvaluationError for a `json` rule whose payload is not a JSON object
 */
export function evaluateRule(rule: TopicRule, input: RuleInput): Record<string, unknown> {
  let base: Record<string, unknown>;
  if (rule.payload === 'none') {
    base = {};
  } else if (rule.payload === 'base64') {
    base = { payload: Buffer.from(input.payload).toString('base64') };
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(input.payload).toString('utf8'));
    } catch {
      throw new RuleEvaluationError(`payload on '${input.topic}' is not JSON`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new RuleEvaluationError(`payload on '${input.topic}' is not a JSON object`);
    }
    base = parsed as Record<string, unknown>;
  }
  const out: Record<string, unknown> = { ...base };
  for (const [field, expression] of Object.entries(rule.add)) {
    const value = evaluateExpression(expression, input);
    if (value !== undefined) out[field] = value;
  }
  return out;
}
