import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Version {
  /** Absent on the AWSPENDING version RotateSecret makes before createSecret fills it. */
  value?: string;
  stages: Set<string>;
}

interface Secret {
  name: string;
  arn: string;
  rotationEnabled: boolean;
  versions: Map<string, Version>;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Secrets Manager's JSON API for the five operations rotation uses, in memory, with its staging-label
 * rules (https://docs.aws.amazon.com/secretsmanager/latest/userguide/whats-in-a-secret.html): a label
 * is on one version at a time, AWSCURRENT moving leaves AWSPREVIOUS behind, a ClientRequestToken is the
 * version id and repeating it with the same value changes nothing. No local Secrets Manager exists, and
 * the real `@aws-sdk/client-secrets-manager` is pointed at this one over HTTP.
 */
export class SecretsManagerEmulator {
  readonly secrets = new Map<string, Secret>();
  private server?: Server;
  endpoint = '';

  create(name: string, value: string, rotationEnabled = false): string {
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    const versionId = randomUUID();
    this.secrets.set(arn, {
      name,
      arn,
      rotationEnabled,
      versions: new Map([[versionId, { value, stages: new Set(['AWSCURRENT']) }]]),
    });
    return arn;
  }

  /** What RotateSecret does before it calls the function: an empty AWSPENDING version `token`. */
  startRotation(id: string, token: string): void {
    const secret = this.secret(id);
    for (const version of secret.versions.values()) version.stages.delete('AWSPENDING');
    secret.versions.set(token, { stages: new Set(['AWSPENDING']) });
  }

  /** The value labelled `stage`. */
  valueOf(id: string, stage = 'AWSCURRENT'): string | undefined {
    return [...this.secret(id).versions.values()].find((v) => v.stages.has(stage))?.value;
  }

  private secret(id: string): Secret {
    const found = [...this.secrets.values()].find((s) => s.arn === id || s.name === id);
    if (found === undefined)
      throw new ApiError('ResourceNotFoundException', `Secrets Manager can't find ${id}`);
    return found;
  }

  private label(secret: Secret, stage: string, versionId: string): void {
    for (const [id, version] of secret.versions) {
      if (id !== versionId && version.stages.delete(stage) && stage === 'AWSCURRENT') {
        for (const other of secret.versions.values()) other.stages.delete('AWSPREVIOUS');
        version.stages.add('AWSPREVIOUS');
      }
    }
    secret.versions.get(versionId)?.stages.add(stage);
  }

  private handle(operation: string, input: Record<string, unknown>): object {
    const secret = this.secret(String(input.SecretId));
    if (operation === 'DescribeSecret') {
      return {
        ARN: secret.arn,
        Name: secret.name,
        RotationEnabled: secret.rotationEnabled,
        VersionIdsToStages: Object.fromEntries([...secret.versions].map(([id, v]) => [id, [...v.stages]])),
      };
    }
    if (operation === 'GetSecretValue') {
      const stage = input.VersionStage as string | undefined;
      const entry =
        input.VersionId === undefined
          ? [...secret.versions].find(([, v]) => v.stages.has(stage ?? 'AWSCURRENT'))
          : [...secret.versions].find(
              ([id, v]) => id === input.VersionId && (stage === undefined || v.stages.has(stage)),
            );
      if (entry?.[1].value === undefined) {
        throw new ApiError('ResourceNotFoundException', `no such version of ${secret.name}`);
      }
      const [versionId, version] = entry;
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: versionId,
        SecretString: version.value,
        VersionStages: [...version.stages],
      };
    }
    if (operation === 'PutSecretValue') {
      const versionId = String(input.ClientRequestToken ?? randomUUID());
      const value = String(input.SecretString);
      const existing = secret.versions.get(versionId);
      if (existing?.value !== undefined && existing.value !== value) {
        throw new ApiError('ResourceExistsException', `version ${versionId} exists with another value`);
      }
      if (existing === undefined) secret.versions.set(versionId, { value, stages: new Set() });
      else existing.value = value;
      for (const stage of (input.VersionStages as string[] | undefined) ?? ['AWSCURRENT'])
        this.label(secret, stage, versionId);
      return { ARN: secret.arn, Name: secret.name, VersionId: versionId };
    }
    if (operation === 'UpdateSecretVersionStage') {
      const stage = String(input.VersionStage);
      if (secret.versions.get(String(input.RemoveFromVersionId))?.stages.has(stage) !== true) {
        throw new ApiError(
          'InvalidParameterException',
          `${stage} is not on version ${String(input.RemoveFromVersionId)}`,
        );
      }
      this.label(secret, stage, String(input.MoveToVersionId));
      return { ARN: secret.arn, Name: secret.name };
    }
    throw new ApiError('InvalidRequestException', `operation ${operation} is not emulated`);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const operation = String(req.headers['x-amz-target'] ?? '').replace('secretsmanager.', '');
        try {
          const answer = this.handle(operation, JSON.parse(Buffer.concat(chunks).toString('utf8')));
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(answer));
        } catch (error) {
          const type = error instanceof ApiError ? error.type : 'InternalServiceError';
          res
            .writeHead(400, { 'content-type': 'application/x-amz-json-1.1' })
            .end(JSON.stringify({ __type: type, message: (error as Error).message }));
        }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) =>
      this.server === undefined ? resolve() : this.server.close(() => resolve()),
    );
  }
}
