import { TopicFilterError } from './errors.ts';

/**
 * Checks a topic filter against MQTT 3.1.1 §4.7.1: `#` only as the whole last level, `+` only as a
 * whole level, no empty filter, no NUL.
 *
 * @throws TopicFilterError naming the rule broken
 */
export function assertTopicFilter(filter: string): void {
  if (filter.length === 0) throw new TopicFilterError(filter, 'is empty');
  if (filter.includes('\u0000')) throw new TopicFilterError(filter, 'contains NUL');
  const levels = filter.split('/');
  levels.forEach((level, index) => {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1))
      throw new TopicFilterError(filter, "'#' must be a whole level and the last one");
    if (level.includes('+') && level !== '+') throw new TopicFilterError(filter, "'+' must be a whole level");
  });
}

/**
 * Whether `topic` matches `filter` (MQTT 3.1.1 §4.7): `+` is exactly one level, `#` the parent level
 * and everything below it, and a wildcard in the first level never matches a topic starting with `$`
 * (§4.7.2: those are the server's own topics).
 */
export function topicMatchesFilter(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  if (topic.startsWith('$') && (filterLevels[0] === '+' || filterLevels[0] === '#')) return false;
  for (let index = 0; index < filterLevels.length; index++) {
    const level = filterLevels[index];
    if (level === '#') return true;
    if (index >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[index]) return false;
  }
  return filterLevels.length === topicLevels.length;
}
