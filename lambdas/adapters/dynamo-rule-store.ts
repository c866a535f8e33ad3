import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type TelemetryRule, telemetryRule } from '../../lib/protocol/telemetry-rules.ts';
import type { RuleStore } from '../ports.ts';

/**
 * Telemetry rules, one item per rule with the rule as JSON text. Items are parsed with the rule schema
 * when read: a rule edited by hand into something invalid is skipped (and reported), never applied half.
 */
export class DynamoRuleStore implements RuleStore {
  constructor(
    private readonly props: {
      readonly client: DynamoDBDocumentClient;
      readonly tableName: string;
      readonly onInvalid?: (ruleId: string, reason: string) => void;
    },
  ) {}

  async list(): Promise<readonly TelemetryRule[]> {
    const rules: TelemetryRule[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.props.client.send(
        new ScanCommand({
          TableName: this.props.tableName,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        let candidate: unknown;
        try {
          candidate = JSON.parse(String(item.rule));
        } catch {
          candidate = undefined;
        }
        const parsed = telemetryRule.safeParse(candidate);
        if (parsed.success) rules.push(parsed.data);
        else this.props.onInvalid?.(String(item.ruleId), parsed.error.message);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return rules.sort((a, b) => a.id.localeCompare(b.id));
  }

  async put(rule: TelemetryRule): Promise<void> {
    await this.props.client.send(
      new PutCommand({
        TableName: this.props.tableName,
        Item: { ruleId: rule.id, rule: JSON.stringify(rule) },
      }),
    );
  }

  async delete(ruleId: string): Promise<boolean> {
    const result = await this.props.client.send(
      new DeleteCommand({ TableName: this.props.tableName, Key: { ruleId }, ReturnValues: 'ALL_OLD' }),
    );
    return result.Attributes !== undefined;
  }
}
