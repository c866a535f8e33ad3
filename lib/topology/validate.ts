import { accessExtras, accessLevel } from './access.ts';
import type { Topology } from './model.ts';

const HANDLER_NAME = /^[a-z][a-z0-9-]{1,62}$/;
/** Literal segments and `{param}`; a greedy `{param+}` only as the last segment, as API Gateway allows. */
const ROUTE_PATH = /^(\/([A-Za-z0-9._~-]+|\{[A-Za-z0-9_]+\}))*(\/\{[A-Za-z0-9_]+\+\})?\/?$/;

/** A topology that cannot be built: the message names the entry and the value received. */
export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}

function checkTopicFilter(filter: string, where: string): void {
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      throw new TopologyError(`${where}: '#' must be a whole, last level in '${filter}'`);
    }
    if (level.includes('+') && level !== '+')
      throw new TopologyError(`${where}: '+' must be a whole level in '${filter}'`);
  });
  // Rules may select IoT's lifecycle events (https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html).
  if (filter.startsWith('$') && !filter.startsWith('$aws/events/'))
    throw new TopologyError(`${where}: '${filter}' is in a reserved namespace`);
}

/**
 * A `topics` resource's filter: a valid MQTT filter whose first level is literal, so its grant never
 * becomes `topic/*`, and whose levels IAM can name (no `*` or `?`, which are wildcards there).
 */
function checkTopicsFilter(filter: string, where: string): void {
  checkTopicFilter(filter, where);
  const levels = filter.split('/');
  if (!/^[A-Za-z0-9_:-]+$/.test(levels[0] ?? '')) {
    throw new TopologyError(`${where}: topic filter '${filter}' must start with a literal level`);
  }
  if (levels.some((level) => level !== '+' && level !== '#' && !/^[A-Za-z0-9_:-]+$/.test(level))) {
    throw new TopologyError(
      `${where}: topic filter '${filter}' may hold only [A-Za-z0-9_:-] levels, '+' and a last '#'`,
    );
  }
}

/**
 * Checks a topology before either runtime builds it: names, route uniqueness, topic filters,
 * `topic(n)` within the filter, sane trigger settings.
 */
/** The bucket that receives IoT rule error actions: named like a resource, so no resource may take the name. */
export const RULE_ERRORS_RESOURCE = 'ruleErrors';
/** Resource names the platform itself uses. */
export const RESERVED_RESOURCE_NAMES: readonly string[] = [RULE_ERRORS_RESOURCE, 'kafkaDlq'];

export function validateTopology(topology: Topology): void {
  for (const [name, resource] of Object.entries(topology.resources)) {
    if (RESERVED_RESOURCE_NAMES.includes(name)) {
      throw new TopologyError(`resource '${name}' is reserved for the platform; choose another name`);
    }
    if (resource.kind === 'stream') {
      if (!/^[a-zA-Z0-9._-]{1,249}$/.test(resource.topic)) {
        throw new TopologyError(
          `resource '${name}': Kafka topic names allow [a-zA-Z0-9._-]{1,249}, got '${resource.topic}'`,
        );
      }
      if (!Number.isInteger(resource.partitions) || resource.partitions < 1 || resource.partitions > 1000) {
        throw new TopologyError(
          `resource '${name}': partitions must be a whole number in 1..1000, got ${resource.partitions}`,
        );
      }
    }
    if (resource.kind === 'topics') checkTopicsFilter(resource.filter, `resource '${name}'`);
  }
  for (const name of Object.keys(topology.deviceTypes ?? {})) {
    if (!/^[a-zA-Z0-9:_-]{1,128}$/.test(name)) {
      throw new TopologyError(`device type '${name}': AWS IoT thing type names allow [a-zA-Z0-9:_-]{1,128}`);
    }
  }
  const routes = new Map<string, string>();
  const handlers = new Map<string, string>();
  const templates = new Map<string, string>();
  for (const [name, fn] of Object.entries(topology.functions)) {
    const where = `function '${name}'`;
    if (!HANDLER_NAME.test(fn.handler))
      throw new TopologyError(`${where}: handler '${fn.handler}' must be kebab-case`);
    const other = handlers.get(fn.handler);
    if (other !== undefined)
      throw new TopologyError(`${where}: handler '${fn.handler}' is also used by '${other}'`);
    handlers.set(fn.handler, name);
    for (const route of fn.routes ?? []) {
      const path = route.slice(route.indexOf(' ') + 1);
      if (!ROUTE_PATH.test(path)) throw new TopologyError(`${where}: route '${route}' has an invalid path`);
      const owner = routes.get(route);
      if (owner !== undefined)
        throw new TopologyError(`${where}: route '${route}' is already served by '${owner}'`);
      routes.set(route, name);
    }
    for (const rule of fn.rules ?? []) {
      checkTopicFilter(rule.topic, where);
      if (rule.payload === 'none' && Object.keys(rule.add).length === 0) {
        throw new TopologyError(`${where}: a rule without the payload must add a field (SELECT needs one)`);
      }
      if (
        rule.where !== undefined &&
        (rule.payload !== 'json' ||
          !/^[A-Za-z_][A-Za-z0-9_]*$/.test(rule.where.field) ||
          /['\\]/.test(rule.where.equals))
      ) {
        throw new TopologyError(
          `${where}: a rule's where needs a json payload, a plain field name and a value without quotes; got ${JSON.stringify(rule.where)}`,
        );
      }
      const levels = rule.topic.split('/').length;
      for (const [field, expression] of Object.entries(rule.add)) {
        const n = /^topic\((\d+)\)$/.exec(expression)?.[1];
        if (n !== undefined && (Number(n) < 1 || Number(n) > levels)) {
          throw new TopologyError(
            `${where}: ${field} = ${expression} is outside '${rule.topic}' (${levels} levels)`,
          );
        }
        if (rule.payload === 'base64' && field === 'payload') {
          throw new TopologyError(`${where}: 'payload' is the encoded payload's field; choose another name`);
        }
      }
    }
    for (const schedule of fn.schedules ?? []) {
      if (!Number.isInteger(schedule.everyMinutes) || schedule.everyMinutes < 1) {
        throw new TopologyError(
          `${where}: schedule everyMinutes must be a whole number >= 1, got ${schedule.everyMinutes}`,
        );
      }
    }
    for (const hook of fn.provisioningHooks ?? []) {
      if (!/^[a-z][a-z0-9-]{0,13}$/.test(hook.template) || hook.template.endsWith('-')) {
        throw new TopologyError(
          `${where}: provisioning template '${hook.template}' must be 1-14 lower-case letters, digits or inner hyphens`,
        );
      }
      const owner = templates.get(hook.template);
      if (owner !== undefined) {
        throw new TopologyError(
          `${where}: provisioning template '${hook.template}' already has a hook ('${owner}'); IoT allows one`,
        );
      }
      templates.set(hook.template, name);
    }
    for (const trigger of fn.kafka ?? []) {
      if (trigger.batchSize < 1 || trigger.batchSize > 10_000) {
        throw new TopologyError(`${where}: kafka batchSize must be 1..10000, got ${trigger.batchSize}`);
      }
      const consumed = Object.entries(topology.resources).find(
        ([, r]) => r.kind === 'stream' && r.topic === trigger.topic,
      );
      if (consumed === undefined) {
        throw new TopologyError(
          `${where}: kafka trigger on '${trigger.topic}', which no stream resource declares`,
        );
      }
      const use = fn.uses?.[consumed[0]];
      if (use === undefined || accessLevel(use) === 'write') {
        throw new TopologyError(
          `${where}: consumes stream '${consumed[0]}' and must declare it in uses as 'read'`,
        );
      }
    }
    for (const [resource, access] of Object.entries(fn.uses ?? {})) {
      if (!Object.hasOwn(topology.resources, resource))
        throw new TopologyError(`${where}: uses unknown resource '${resource}'`);
      if (topology.resources[resource]?.kind === 'topics' && access !== 'write') {
        throw new TopologyError(
          `${where}: topics resource '${resource}' can only be used with 'write' (publish), got '${access}'`,
        );
      }
      const extras = access === undefined ? [] : accessExtras(access);
      if (extras.length > 0 && topology.resources[resource]?.kind !== 'table') {
        throw new TopologyError(
          `${where}: '${extras.join("', '")}' applies to tables only; '${resource}' is a ${topology.resources[resource]?.kind}`,
        );
      }
      if (new Set(extras).size !== extras.length) {
        throw new TopologyError(
          `${where}: '${resource}' names an operation twice: ${JSON.stringify(access)}`,
        );
      }
    }
  }
  validateIngest(topology);
}

/** Checks the stream ingest rules: their filters, their stream, and that the key is a field they produce. */
export function validateIngest(topology: Topology): void {
  for (const [name, ingest] of Object.entries(topology.ingest ?? {})) {
    const where = `ingest '${name}'`;
    checkTopicFilter(ingest.rule.topic, where);
    const stream = Object.hasOwn(topology.resources, ingest.stream)
      ? topology.resources[ingest.stream]
      : undefined;
    if (stream?.kind !== 'stream')
      throw new TopologyError(`${where}: '${ingest.stream}' is not a stream resource`);
    const levels = ingest.rule.topic.split('/').length;
    for (const [field, expression] of Object.entries(ingest.rule.add)) {
      const n = /^topic\((\d+)\)$/.exec(expression)?.[1];
      if (n !== undefined && (Number(n) < 1 || Number(n) > levels)) {
        throw new TopologyError(
          `${where}: ${field} = ${expression} is outside '${ingest.rule.topic}' (${levels} levels)`,
        );
      }
    }
    if (!(ingest.key in ingest.rule.add)) {
      throw new TopologyError(
        `${where}: key '${ingest.key}' is not a field the rule adds (${Object.keys(ingest.rule.add).join(', ')})`,
      );
    }
  }
}

/**
 * Refuses overrides of settings no function declares, so a misspelt setting fails the deployment or
 * the start instead of being ignored.
 */
export function validateSettings(topology: Topology, settings: Readonly<Record<string, string>>): void {
  const declared = new Set(Object.values(topology.functions).flatMap((fn) => Object.keys(fn.settings ?? {})));
  for (const key of Object.keys(settings)) {
    if (!declared.has(key)) {
      throw new TopologyError(
        `setting '${key}' is not declared by any function; known settings: ${[...declared].join(', ')}`,
      );
    }
  }
}
