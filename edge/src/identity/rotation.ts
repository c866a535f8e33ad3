import {
  createCertificateFromCsrResponse,
  identityGetAccepted,
  rotationDueAt,
} from '../../../lib/protocol/identity.ts';
import { CREATE_FROM_CSR_TOPIC, identityTopic } from '../../../lib/protocol/identity-topics.ts';
import type { Clock } from '../ota/ports.ts';
import type { DeviceTransport } from '../transport/ports.ts';
import type { Credentials, IdentityFiles } from './identity-files.ts';
import { certificateFacts, certificateMatchesKey, makeKeyAndCsr } from './key-pair.ts';
import { requestReply } from './request.ts';

/** Connects with other credentials from now on (the MQTT transport drops and remakes its connection). */
export interface CredentialSwitch {
  reconnectWith(credentials: Credentials): Promise<void>;
}

export interface CertificateRotatorOptions {
  readonly thingName: string;
  readonly transport: DeviceTransport;
  readonly switcher: CredentialSwitch;
  readonly files: IdentityFiles;
  readonly clock: Clock;
  readonly log?: (event: string, fields?: Readonly<Record<string, unknown>>) => void;
  /** Share of the certificate's validity after which the device rotates on its own. @default 0.8 */
  readonly rotateAtFraction?: number;
  /** How often the schedule is looked at. @default 1 hour */
  readonly checkEveryMs?: number;
  /** @default 30_000 */
  readonly requestTimeoutMs?: number;
  /** How long the new certificate may take to connect before the old one is put back. @default 60_000 */
  readonly connectTimeoutMs?: number;
}

/** How a rotation ended. */
export type RotationOutcome = 'rotated' | 'failed' | 'busy';

/** Who asked for a rotation: the platform (`identity/notify`, `identity/get`), the schedule, a command. */
export type RotationReason = 'requested' | 'schedule' | 'command';

/** How one rotation ended, with what an operator needs to know of it. */
export type RotationResult =
  | {
      readonly outcome: 'rotated';
      /** The certificate the device now connects with, confirmed (the platform retired the old one). */
      readonly certificateId: string;
      readonly previousCertificateId: string;
    }
  | { readonly outcome: 'failed'; readonly reason: string };

/**
 * The device side of certificate rotation.
 *
 * When an operator asks (`identity/notify`, or `rotationRequested` in the `identity/get` answer the
 * device asks for on every connection) or when the schedule says so (a share of the certificate's
 * validity has passed), the device makes a new key and CSR, gets a certificate for it with AWS IoT's
 * CreateCertificateFromCsr, has the platform activate it (`identity/activate`, on the old certificate),
 * switches its connection to it, and confirms (`identity/confirm`, on the new one) — only then does the
 * platform retire the old certificate. If the new certificate cannot connect, the old one is put back
 * and keeps working until it expires. Telemetry is never lost meanwhile: the uplink's disk queue holds
 * what could not be sent while the connection switched. A restart between the switch and the
 * confirmation confirms on the next connection (a marker file says what to confirm).
 */
export class CertificateRotator {
  private readonly log: NonNullable<CertificateRotatorOptions['log']>;
  private rotating: Promise<RotationResult> | undefined;
  private confirming: Promise<void> | undefined;
  private readonly stopped = new AbortController();
  private readonly detach: Array<() => void | Promise<void>> = [];

  constructor(private readonly options: CertificateRotatorOptions) {
    this.log = options.log ?? (() => {});
  }

  /** Listens for requests, checks on every connection, and runs the schedule. */
  async start(): Promise<void> {
    const { transport, thingName } = this.options;
    const off = await transport.subscribe(identityTopic({ thingName, operation: 'notify' }), () => {
      void this.rotate('requested');
    });
    this.detach.push(off);
    this.detach.push(
      transport.onStateChange((state) => {
        if (state === 'connected') void this.onConnected();
      }),
    );
    if (transport.state === 'connected') void this.onConnected();
    void this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    for (const off of this.detach.splice(0)) await off();
    await this.rotating;
  }

  /** Rotates now, unless a rotation is already under way. */
  async rotate(reason: RotationReason): Promise<RotationOutcome> {
    if (this.rotating !== undefined) return 'busy';
    return (await this.begin(reason)).outcome;
  }

  /**
   * Rotates now, or, when a rotation is already under way (the schedule's, or the platform's
   * request), waits for that one and reports how it ended: the device ends on a new, confirmed
   * certificate either way, which is what the caller asked for.
   */
  async rotateOrJoin(reason: RotationReason): Promise<RotationResult & { readonly joined: boolean }> {
    const joined = this.rotating !== undefined;
    return { ...(await (this.rotating ?? this.begin(reason))), joined };
  }

  private begin(reason: RotationReason): Promise<RotationResult> {
    const rotating = this.run(reason).finally(() => {
      this.rotating = undefined;
    });
    this.rotating = rotating;
    return rotating;
  }

  private request(topic: string, body: unknown) {
    const { transport, clock, requestTimeoutMs } = this.options;
    return requestReply(transport, clock, topic, body, requestTimeoutMs ?? 30_000);
  }

  private async onConnected(): Promise<void> {
    try {
      await this.confirmPending();
      if (this.rotating !== undefined) return;
      const answer = identityGetAccepted.parse(
        await this.request(identityTopic({ thingName: this.options.thingName, operation: 'get' }), {}),
      );
      if (answer.rotationRequested) await this.rotate('requested');
      else if (await this.due()) await this.rotate('schedule');
    } catch (error) {
      this.log('identity-check-failed', { error: String(error) });
    }
  }

  private async due(): Promise<boolean> {
    const { notBefore, notAfter } = certificateFacts((await this.options.files.current()).certPem);
    return this.options.clock.now() >= rotationDueAt(notBefore, notAfter, this.options.rotateAtFraction);
  }

  private async schedule(): Promise<void> {
    const every = this.options.checkEveryMs ?? 3_600_000;
    while (!this.stopped.signal.aborted) {
      try {
        await this.options.clock.sleep(every, this.stopped.signal);
        if (this.options.transport.state === 'connected' && (await this.due())) await this.rotate('schedule');
      } catch (error) {
        if (this.stopped.signal.aborted) return;
        this.log('rotation-schedule-failed', { error: String(error) });
      }
    }
  }

  private async run(reason: RotationReason): Promise<RotationResult> {
    const { files, switcher, thingName } = this.options;
    const old = await files.current();
    const from = certificateFacts(old.certPem).certificateId;
    this.log('rotation-started', { reason, from });
    try {
      await files.discardStaged();
      const { keyPem, csrPem } = await makeKeyAndCsr(thingName);
      await files.stageKey(keyPem);
      const created = createCertificateFromCsrResponse.parse(
        await this.request(CREATE_FROM_CSR_TOPIC, { certificateSigningRequest: csrPem }),
      );
      if (!certificateMatchesKey(created.certificatePem, keyPem))
        throw new Error('the certificate issued is not for the key the device made');
      await files.stageCertificate(created.certificatePem);
      await this.request(identityTopic({ thingName, operation: 'activate' }), {
        certificateId: created.certificateId,
      });
      await files.promote(created.certificateId);
      await switcher.reconnectWith({ keyPem, certPem: created.certificatePem });
      if (!(await this.connectedWithin(this.options.connectTimeoutMs ?? 60_000))) {
        this.log('rotation-rolled-back', {
          certificateId: created.certificateId,
          reason: 'the new certificate did not connect',
        });
        await files.rollBack();
        await switcher.reconnectWith(old);
        return {
          outcome: 'failed',
          reason: `certificate ${created.certificateId} did not connect: back on ${from}`,
        };
      }
      await this.confirmPending();
      if ((await files.awaitingConfirmation()) !== undefined)
        return { outcome: 'failed', reason: `certificate ${created.certificateId} was not confirmed` };
      return { outcome: 'rotated', certificateId: created.certificateId, previousCertificateId: from };
    } catch (error) {
      this.log('rotation-failed', { reason, error: String(error) });
      await files.discardStaged().catch(() => {});
      return { outcome: 'failed', reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Confirms the certificate a rotation switched to, once connected with it; once only at a time. */
  private confirmPending(): Promise<void> {
    this.confirming ??= (async () => {
      const { files, thingName } = this.options;
      const waiting = await files.awaitingConfirmation();
      if (waiting === undefined) return;
      const current = certificateFacts((await files.current()).certPem).certificateId;
      if (current !== waiting) {
        // The switch was undone (a restart between staging and promotion): nothing to confirm.
        await files.confirmed();
        return;
      }
      await this.request(identityTopic({ thingName, operation: 'confirm' }), { certificateId: waiting });
      await files.confirmed();
      this.log('certificate-rotated', { certificateId: waiting });
    })().finally(() => {
      this.confirming = undefined;
    });
    return this.confirming;
  }

  private async connectedWithin(timeoutMs: number): Promise<boolean> {
    const { transport, clock } = this.options;
    if (transport.state === 'connected') return true;
    const abort = new AbortController();
    let off: () => void = () => {};
    const connected = new Promise<boolean>((resolve) => {
      off = transport.onStateChange((state) => {
        if (state === 'connected') resolve(true);
      });
    });
    const timedOut = clock.sleep(timeoutMs, abort.signal).then(
      () => false,
      () => false,
    );
    try {
      return await Promise.race([connected, timedOut]);
    } finally {
      off();
      abort.abort();
    }
  }
}
