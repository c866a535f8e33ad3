/** One reason a message was refused: which field, and why. */
export interface FieldIssue {
  /** Dotted path of the offending field (`battery.percent`), or `(root)` for the whole message. */
  readonly field: string;
  /** Human-readable reason (`must be <= 100`). */
  readonly reason: string;
}

/**
 * A message that crossed a wire did not match its schema.
 *
 * Carries every field issue so a device developer can fix them all at once.
 */
export class SchemaValidationError extends Error {
  override readonly name = 'SchemaValidationError';
  /** What was being parsed (`status message`, `GET /devices query`). */
  readonly subject: string;
  readonly issues: readonly FieldIssue[];

  constructor(subject: string, issues: readonly FieldIssue[]) {
    super(`invalid ${subject}: ${issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`);
    this.subject = subject;
    this.issues = issues;
  }
}

/** A payload was not decodable at all (not UTF-8 JSON, not base64, ...). */
export class PayloadDecodeError extends Error {
  override readonly name = 'PayloadDecodeError';
  readonly subject: string;

  constructor(subject: string, reason: string) {
    super(`invalid ${subject}: ${reason}`);
    this.subject = subject;
  }
}

/** A topic did not have the shape its parser expects. */
export class TopicFormatError extends Error {
  override readonly name = 'TopicFormatError';
  readonly topic: string;

  constructor(topic: string, reason: string) {
    super(`topic '${topic}' ${reason}`);
    this.topic = topic;
  }
}
