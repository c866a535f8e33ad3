import { randomBytes } from 'node:crypto';
import { parseWith } from '../../lib/protocol/parse.ts';
import {
  type RotationEvent,
  type ScramCredentials,
  scramCredentials,
} from '../../lib/protocol/scram-rotation.ts';
import type { Logger } from '../shared/logger.ts';

/** The Secrets Manager operations a rotation needs. */
export interface RotationSecrets {
  /** Whether rotation is on, and each version's staging labels. */
  describe(
    secretId: string,
  ): Promise<{ rotationEnabled: boolean; versions: Record<string, readonly string[]> }>;
  /** The secret string of a version (by id, by stage, or both); undefined when there is none. */
  value(secretId: string, version: { versionId?: string; stage?: string }): Promise<string | undefined>;
  /** Stores a new version with `token` as its id, labelled `stages` (idempotent for the same token and value). */
  put(secretId: string, value: string, token: string, stages: readonly string[]): Promise<void>;
  /** Moves AWSCURRENT to version `to` from version `from` (which becomes AWSPREVIOUS). */
  promote(secretId: string, to: string, from: string): Promise<void>;
}

/** Whether credentials sign in to the cluster (and may see the topic they produce to). */
export interface ScramProbe {
  signsIn(credentials: ScramCredentials): Promise<boolean>;
}

/** Properties of {@link ScramRotation}. */
export interface ScramRotationProps {
  readonly secrets: RotationSecrets;
  readonly probe: ScramProbe;
  /** The two users and the ARN of each one's MSK-associated secret. */
  readonly users: Readonly<Record<string, string>>;
  readonly log: Logger;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * How long testSecret waits for MSK to load the new password: MSK syncs associated secrets
   * periodically, and changes take up to 10 minutes to reach the brokers
   * (https://docs.aws.amazon.com/msk/latest/developerguide/msk-password-users.html). @default 12 min
   */
  readonly propagationMs?: number;
  /** @default 20 s */
  readonly probeEveryMs?: number;
  /** @default 32 random bytes, base64url (43 characters of [A-Za-z0-9_-]) */
  readonly newPassword?: () => string;
}

/** A rotation request that cannot be carried out: the message says which secret and why. */
export class RotationError extends Error {
  override readonly name = 'RotationError';
}

const PENDING = 'AWSPENDING';
const CURRENT = 'AWSCURRENT';

/**
 * Rotates the client secret IoT rules read (`get_secret`) by alternating between two SCRAM users, each
 * with its own MSK-associated secret (Secrets Manager's alternating-users strategy,
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html).
 *
 * MSK reads only AWSCURRENT of an associated secret and a changed password stops the old one once it
 * propagates (https://docs.aws.amazon.com/msk/latest/developerguide/msk-password-rotation.html): so the
 * password that changes is the user's that IoT is *not* using. createSecret picks the other user and a
 * new password (AWSPENDING of the client secret); setSecret writes it to that user's MSK secret;
 * testSecret waits until the brokers accept it; finishSecret makes it the client secret's AWSCURRENT.
 * The user IoT used keeps working until the next rotation, a schedule period later.
 */
export class ScramRotation {
  constructor(private readonly props: ScramRotationProps) {}

  async rotate(event: RotationEvent): Promise<void> {
    const { secrets } = this.props;
    const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
    const described = await secrets.describe(secretId);
    if (!described.rotationEnabled)
      throw new RotationError(`secret ${secretId} does not have rotation enabled`);
    const stages = described.versions[token];
    if (stages === undefined)
      throw new RotationError(`secret ${secretId} has no version ${token} to rotate to`);
    if (stages.includes(CURRENT)) {
      this.props.log.info('rotation already finished', { step, token });
      return;
    }
    if (!stages.includes(PENDING))
      throw new RotationError(`version ${token} of ${secretId} is not AWSPENDING`);
    if (step === 'createSecret') await this.create(secretId, token);
    if (step === 'setSecret') await this.set(secretId, token);
    if (step === 'testSecret') await this.test(secretId, token);
    if (step === 'finishSecret') await this.finish(secretId, token, described.versions);
  }

  private async credentials(
    secretId: string,
    version: { versionId?: string; stage: string },
  ): Promise<ScramCredentials> {
    const text = await this.props.secrets.value(secretId, version);
    if (text === undefined) throw new RotationError(`secret ${secretId} has no ${version.stage} value`);
    return parseWith(scramCredentials, JSON.parse(text), `${version.stage} value of ${secretId}`);
  }

  private userSecret(username: string): string {
    const arn = this.props.users[username];
    if (arn === undefined) {
      throw new RotationError(`user '${username}' is not one of ${Object.keys(this.props.users).join(', ')}`);
    }
    return arn;
  }

  private async create(secretId: string, token: string): Promise<void> {
    // A retried createSecret finds its own pending value and keeps it.
    if ((await this.props.secrets.value(secretId, { versionId: token, stage: PENDING })) !== undefined)
      return;
    const current = await this.credentials(secretId, { stage: CURRENT });
    const next = Object.keys(this.props.users).find((username) => username !== current.username);
    if (next === undefined) throw new RotationError(`no user other than '${current.username}' to rotate to`);
    // The current user must be one of the pair too, or the rotation would leave IoT on a stranger's secret.
    this.userSecret(current.username);
    const password = this.props.newPassword?.() ?? randomBytes(32).toString('base64url');
    await this.props.secrets.put(secretId, JSON.stringify({ username: next, password }), token, [PENDING]);
    this.props.log.info('rotation: new password made', { from: current.username, to: next });
  }

  private async set(secretId: string, token: string): Promise<void> {
    const pending = await this.credentials(secretId, { versionId: token, stage: PENDING });
    // The same token makes a retried setSecret a no-op in the user's secret.
    await this.props.secrets.put(this.userSecret(pending.username), JSON.stringify(pending), token, [
      CURRENT,
    ]);
    this.props.log.info('rotation: MSK secret updated', { user: pending.username });
  }

  private async test(secretId: string, token: string): Promise<void> {
    const pending = await this.credentials(secretId, { versionId: token, stage: PENDING });
    const { now, sleep, probe } = this.props;
    const deadline = now() + (this.props.propagationMs ?? 12 * 60_000);
    for (let attempt = 1; ; attempt++) {
      if (await probe.signsIn(pending)) {
        this.props.log.info('rotation: brokers accept the new password', { user: pending.username, attempt });
        return;
      }
      if (now() >= deadline) {
        throw new RotationError(
          `the brokers still refuse ${pending.username}'s new password after ${attempt} attempts; IoT keeps the current user, and the next rotation tries again`,
        );
      }
      await sleep(this.props.probeEveryMs ?? 20_000);
    }
  }

  private async finish(
    secretId: string,
    token: string,
    versions: Record<string, readonly string[]>,
  ): Promise<void> {
    const current = Object.entries(versions).find(([, stages]) => stages.includes(CURRENT))?.[0];
    if (current === undefined) throw new RotationError(`secret ${secretId} has no AWSCURRENT version`);
    await this.props.secrets.promote(secretId, token, current);
    this.props.log.info('rotation finished', { token });
  }
}
