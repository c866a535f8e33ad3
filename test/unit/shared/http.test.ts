import { describe, expect, it } from 'vitest';
import { InvalidTokenError, NotFoundError } from '../../../lambdas/domain/errors.ts';
import { httpErrorResponse } from '../../../lambdas/shared/http.ts';
import type { Logger } from '../../../lambdas/shared/logger.ts';
import { PayloadDecodeError, SchemaValidationError } from '../../../lib/protocol/errors.ts';

type LogEntry = { level: string; message: string; fields?: Record<string, unknown> };

function recordingLogger(): { log: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    void entries.push({ level, message, ...(fields === undefined ? {} : { fields }) });
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, entries };
}

const issues = [{ field: 'battery.percent', reason: 'must be <= 100' }];

describe('httpErrorResponse', () => {
  it.each<[string, unknown, number, Record<string, unknown>]>([
    [
      'a SchemaValidationError is a 400 listing the issues',
      new SchemaValidationError('GET /devices query', issues),
      400,
      {
        code: 'ValidationError',
        message: 'invalid GET /devices query: battery.percent: must be <= 100',
        issues,
      },
    ],
    [
      'a PayloadDecodeError is a 400',
      new PayloadDecodeError('request body', 'not valid JSON'),
      400,
      { code: 'BadRequest', message: 'invalid request body: not valid JSON' },
    ],
    [
      'an InvalidTokenError is a 400',
      new InvalidTokenError('nextToken is not a token this API issued'),
      400,
      { code: 'InvalidToken', message: 'nextToken is not a token this API issued' },
    ],
    [
      'a NotFoundError is a 404',
      new NotFoundError("device 'A' not found"),
      404,
      { code: 'NotFound', message: "device 'A' not found" },
    ],
  ])('%s, as JSON, and is not logged as an error', (_rule, error, statusCode, body) => {
    // Prepare
    const { log, entries } = recordingLogger();

    // Act
    const response = httpErrorResponse(error, log);

    // Assess
    expect(response.statusCode).toBe(statusCode);
    expect(response.headers).toEqual({ 'content-type': 'application/json' });
    expect(JSON.parse(String(response.body))).toStrictEqual(body);
    expect(entries.filter((e) => e.level === 'error')).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['an unexpected Error', new Error('connect ECONNREFUSED db-password=hunter2'), 'hunter2'],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'secretKey')"), 'secretKey'],
    ['a thrown string', 'internal detail hunter2', 'hunter2'],
  ])('maps %s to a 500 that does not leak it, and logs it', (_rule, error, secret) => {
    // Prepare
    const { log, entries } = recordingLogger();

    // Act
    const response = httpErrorResponse(error, log);

    // Assess
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(String(response.body))).toMatchObject({ code: 'InternalError' });
    expect(String(response.body)).not.toContain(secret);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.level).toBe('error');
    expect(JSON.stringify(entries[0]?.fields)).toContain(secret);
  });
});
