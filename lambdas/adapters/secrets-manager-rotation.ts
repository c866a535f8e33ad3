import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { RotationSecrets } from '../services/scram-rotation.ts';

/** {@link RotationSecrets} on Secrets Manager's API (`@aws-sdk/client-secrets-manager`). */
export class SecretsManagerRotationSecrets implements RotationSecrets {
  constructor(private readonly client: SecretsManagerClient) {}

  async describe(
    secretId: string,
  ): Promise<{ rotationEnabled: boolean; versions: Record<string, readonly string[]> }> {
    const result = await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    return { rotationEnabled: result.RotationEnabled === true, versions: result.VersionIdsToStages ?? {} };
  }

  async value(
    secretId: string,
    version: { versionId?: string; stage?: string },
  ): Promise<string | undefined> {
    try {
      const result = await this.client.send(
        new GetSecretValueCommand({
          SecretId: secretId,
          ...(version.versionId === undefined ? {} : { VersionId: version.versionId }),
          ...(version.stage === undefined ? {} : { VersionStage: version.stage }),
        }),
      );
      return result.SecretString;
    } catch (error) {
      // No such version (yet): what createSecret asks before it makes one.
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  async put(secretId: string, value: string, token: string, stages: readonly string[]): Promise<void> {
    await this.client.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: token,
        SecretString: value,
        VersionStages: [...stages],
      }),
    );
  }

  async promote(secretId: string, to: string, from: string): Promise<void> {
    await this.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: to,
        RemoveFromVersionId: from,
      }),
    );
  }
}
