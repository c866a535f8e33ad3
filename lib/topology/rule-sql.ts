import type { TopicRule } from './model.ts';

/** The IoT SQL version every fleetkit rule uses. */
export const IOT_SQL_VERSION = '2016-03-23';

/**
 * Renders a rule as AWS IoT SQL.
 *
 * `encode(*, 'base64')` hands the payload over whatever its format
 * (https://docs.aws.amazon.com/iot/latest/developerguide/iot-sql-functions.html#iot-function-encode);
 * `SELECT *, f() AS x` merges added fields into a JSON payload; `SELECT f() AS x` leaves the payload out;
 * `WHERE field = 'value'` selects by a payload field (validated: a plain name and a value without quotes).
 */
export function renderRuleSql(rule: TopicRule): string {
  const added = Object.entries(rule.add).map(([field, expression]) => `${expression} AS ${field}`);
  const payload = { base64: ["encode(*, 'base64') AS payload"], json: ['*'], none: [] }[rule.payload];
  const where = rule.where === undefined ? '' : ` WHERE ${rule.where.field} = '${rule.where.equals}'`;
  return `SELECT ${[...payload, ...added].join(', ')} FROM '${rule.topic}'${where}`;
}
