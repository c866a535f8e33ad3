import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  certificateIdOf,
  InvalidCsrError,
  inspectCertificate,
  inspectCsr,
} from '../../../lambdas/shared/x509.ts';
import type { DeviceIdentity, DevicePermission } from '../../protocol/device-policy.ts';
import { THING_NAME_PATTERN, THING_TYPE_PATTERN } from '../../protocol/topics.ts';
import type { LocalPki } from '../pki.ts';
import {
  type CertificateStatus,
  iotError,
  loadState,
  type RegistryState,
  type StoredCertificate,
  type StoredThing,
  saveState,
  type ThingPrincipal,
} from './state.ts';

const DAY_MS = 86_400_000;
const SETTABLE: ReadonlySet<string> = new Set(['ACTIVE', 'INACTIVE', 'REVOKED']);
const seconds = (ms: number) => Math.floor(ms / 1000);

/** What the broker learns of a connecting client from the registry. */
export type Identification =
  | {
      readonly ok: true;
      readonly certificateId: string;
      readonly identity: DeviceIdentity;
      /** The permissions of every policy attached to the certificate. */
      readonly permissions: readonly DevicePermission[];
    }
  | { readonly ok: false; readonly certificateId: string; readonly reason: string };

export interface LocalIotRegistryOptions {
  readonly dataDir: string;
  readonly pki: LocalPki;
  readonly region: string;
  readonly accountId: string;
  /** The IoT policies that exist, by name, as the permissions they grant. */
  readonly policies: Readonly<Record<string, readonly DevicePermission[]>>;
  /** How long certificates made from CSRs are valid. @default 365 days */
  readonly certificateValidityMs?: number;
  readonly now?: () => number;
}

/**
 * The local AWS IoT registry: thing types, things, certificates, thing and policy attachments, with
 * AWS IoT's rules and errors. The local control plane server (`control-plane.ts`) serves it over
 * IoT's REST API, the broker asks it who a client is (certificate status, attachment, policies) on
 * every CONNECT, and the CreateCertificateFromCsr MQTT API (`create-from-csr.ts`) makes pending
 * certificates through it. Certificates are signed by the local CA.
 */
export class LocalIotRegistry {
  private readonly file: string;
  private saving: Promise<void> = Promise.resolve();
  private readonly listeners: Array<(certificateId: string, status: CertificateStatus) => void> = [];
  private readonly now: () => number;

  private constructor(
    private readonly options: LocalIotRegistryOptions,
    private readonly state: RegistryState,
  ) {
    this.file = join(options.dataDir, 'iot', 'registry.json');
    this.now = options.now ?? Date.now;
  }

  /** Opens the registry kept under `<dataDir>/iot/`, empty on first start. */
  static async open(options: LocalIotRegistryOptions): Promise<LocalIotRegistry> {
    return new LocalIotRegistry(options, await loadState(join(options.dataDir, 'iot', 'registry.json')));
  }

  private arn(resource: string): string {
    return `arn:aws:iot:${this.options.region}:${this.options.accountId}:${resource}`;
  }

  /** Persists after a change; resolves once this change (and all before it) is on disk. */
  private persist(): Promise<void> {
    this.saving = this.saving.then(() => saveState(this.file, this.state));
    return this.saving;
  }

  /** Calls `listener` when a certificate leaves ACTIVE (IoT then disconnects the devices using it). */
  onCertificateDeactivated(listener: (certificateId: string, status: CertificateStatus) => void): void {
    this.listeners.push(listener);
  }

  async createThingType(name: string, description?: string) {
    if (!THING_TYPE_PATTERN.test(name)) throw iotError.invalidRequest(`invalid thing type name '${name}'`);
    if (this.state.thingTypes[name] !== undefined)
      throw iotError.alreadyExists(`Thing type ${name} already exists`);
    const type = {
      thingTypeName: name,
      thingTypeId: randomUUID(),
      thingTypeArn: this.arn(`thingtype/${name}`),
      ...(description === undefined ? {} : { description }),
      creationDate: this.now(),
    };
    this.state.thingTypes[name] = type;
    await this.persist();
    return { thingTypeName: name, thingTypeArn: type.thingTypeArn, thingTypeId: type.thingTypeId };
  }

  describeThingType(name: string) {
    const type = this.state.thingTypes[name];
    if (type === undefined) throw iotError.notFound(`Thing type ${name} not found`);
    return {
      thingTypeName: type.thingTypeName,
      thingTypeId: type.thingTypeId,
      thingTypeArn: type.thingTypeArn,
      thingTypeProperties: type.description === undefined ? {} : { thingTypeDescription: type.description },
      thingTypeMetadata: { deprecated: false, creationDate: seconds(type.creationDate) },
    };
  }

  /** CreateThing: the same name and configuration again succeeds; another configuration is a conflict. */
  async createThing(name: string, thingTypeName?: string, attributes: Record<string, string> = {}) {
    if (!THING_NAME_PATTERN.test(name)) throw iotError.invalidRequest(`invalid thing name '${name}'`);
    if (thingTypeName !== undefined && this.state.thingTypes[thingTypeName] === undefined)
      throw iotError.notFound(`Thing type ${thingTypeName} not found`);
    const existing = this.state.things[name];
    if (existing !== undefined) {
      const same =
        existing.thingTypeName === thingTypeName &&
        JSON.stringify(existing.attributes) === JSON.stringify(attributes);
      if (!same) throw iotError.alreadyExists(`Thing ${name} already exists with different configuration`);
      return { thingName: name, thingArn: existing.thingArn, thingId: existing.thingId };
    }
    const thing: StoredThing = {
      thingName: name,
      thingId: randomUUID(),
      thingArn: this.arn(`thing/${name}`),
      ...(thingTypeName === undefined ? {} : { thingTypeName }),
      attributes,
      version: 1,
    };
    this.state.things[name] = thing;
    await this.persist();
    return { thingName: name, thingArn: thing.thingArn, thingId: thing.thingId };
  }

  describeThing(name: string) {
    const thing = this.state.things[name];
    if (thing === undefined) throw iotError.notFound(`Thing ${name} cannot be found.`);
    return {
      defaultClientId: thing.thingName,
      thingName: thing.thingName,
      thingId: thing.thingId,
      thingArn: thing.thingArn,
      ...(thing.thingTypeName === undefined ? {} : { thingTypeName: thing.thingTypeName }),
      attributes: thing.attributes,
      version: thing.version,
    };
  }

  /** Whether a thing type exists. */
  hasThingType(name: string): boolean {
    return this.state.thingTypes[name] !== undefined;
  }

  /**
   * Registers a certificate the local CA issued (as RegisterCertificate does for a CA's certificates);
   * a certificate already registered is left as it is.
   */
  async registerCertificate(
    certificatePem: string,
    status: CertificateStatus,
  ): Promise<{ certificateArn: string }> {
    return this.state.certificates[certificateIdOf(certificatePem)] ?? this.store(certificatePem, status);
  }

  private async store(certificatePem: string, status: CertificateStatus): Promise<StoredCertificate> {
    const info = inspectCertificate(certificatePem);
    const now = this.now();
    const cert: StoredCertificate = {
      certificateId: info.certificateId,
      certificateArn: this.arn(`cert/${info.certificateId}`),
      certificatePem,
      status,
      creationDate: now,
      lastModifiedDate: now,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
    };
    this.state.certificates[cert.certificateId] = cert;
    await this.persist();
    return cert;
  }

  /**
   * Signs a CSR with the local CA. `status` is ACTIVE with `setAsActive`, else INACTIVE (the REST API);
   * the MQTT API makes PENDING_ACTIVATION certificates.
   */
  async createCertificateFromCsr(csrPem: string, status: CertificateStatus) {
    let request: Awaited<ReturnType<typeof inspectCsr>>['request'];
    try {
      request = (await inspectCsr(csrPem)).request;
    } catch (error) {
      if (error instanceof InvalidCsrError)
        throw iotError.invalidRequest(`The certificate signing request is not valid: ${error.message}`);
      throw error;
    }
    const validity = this.options.certificateValidityMs ?? 365 * DAY_MS;
    const pem = await this.options.pki.signCsr(request, this.now(), validity);
    const cert = await this.store(pem, status);
    return {
      certificateArn: cert.certificateArn,
      certificateId: cert.certificateId,
      certificatePem: cert.certificatePem,
    };
  }

  private certificate(id: string): StoredCertificate {
    const cert = this.state.certificates[id];
    if (cert === undefined) throw iotError.notFound(`Certificate ${id} not found`);
    return cert;
  }

  describeCertificate(id: string) {
    const cert = this.certificate(id);
    return {
      certificateDescription: {
        certificateArn: cert.certificateArn,
        certificateId: cert.certificateId,
        status: cert.status,
        certificatePem: cert.certificatePem,
        ownedBy: this.options.accountId,
        creationDate: seconds(cert.creationDate),
        lastModifiedDate: seconds(cert.lastModifiedDate),
        customerVersion: 1,
        validity: { notBefore: seconds(cert.notBefore), notAfter: seconds(cert.notAfter) },
        certificateMode: 'DEFAULT',
      },
    };
  }

  /** UpdateCertificate: PENDING_* cannot be set, and a REVOKED certificate never changes again. */
  async updateCertificate(id: string, newStatus: string): Promise<void> {
    const cert = this.certificate(id);
    if (!SETTABLE.has(newStatus))
      throw iotError.invalidRequest(`Cannot set certificate status to ${newStatus}`);
    if (cert.status === newStatus) return;
    if (cert.status === 'REVOKED') throw iotError.certificateState(`Certificate ${id} is revoked`);
    this.state.certificates[id] = {
      ...cert,
      status: newStatus as CertificateStatus,
      lastModifiedDate: this.now(),
    };
    await this.persist();
    if (cert.status === 'ACTIVE')
      for (const listener of this.listeners) listener(id, newStatus as CertificateStatus);
  }

  /** DeleteCertificate: not while ACTIVE, not while attached to a thing, nor to a policy unless forced. */
  async deleteCertificate(id: string, forceDelete: boolean): Promise<void> {
    const cert = this.certificate(id);
    if (cert.status === 'ACTIVE')
      throw iotError.certificateState(`Certificate ${id} is active; deactivate it first`);
    if (this.principalThings(cert.certificateArn).length > 0)
      throw iotError.deleteConflict(`Certificate ${id} is attached to a thing`);
    const policies = this.policiesOf(cert.certificateArn);
    if (policies.length > 0 && !forceDelete)
      throw iotError.deleteConflict(`Certificate ${id} has policies attached: ${policies.join(', ')}`);
    for (const policy of policies) this.removeTarget(policy, cert.certificateArn);
    delete this.state.certificates[id];
    await this.persist();
  }

  private certificateByArn(arn: string): StoredCertificate {
    const id = /:cert\/([0-9a-f]{64})$/.exec(arn)?.[1];
    const cert = id === undefined ? undefined : this.state.certificates[id];
    if (cert === undefined) throw iotError.notFound(`Principal ${arn} not found`);
    return cert;
  }

  private policiesOf(target: string): string[] {
    return Object.entries(this.state.policyTargets)
      .filter(([, targets]) => targets.includes(target))
      .map(([name]) => name);
  }

  private removeTarget(policyName: string, target: string): void {
    this.state.policyTargets[policyName] = (this.state.policyTargets[policyName] ?? []).filter(
      (t) => t !== target,
    );
  }

  async attachPolicy(policyName: string, target: string): Promise<void> {
    if (this.options.policies[policyName] === undefined)
      throw iotError.notFound(`Policy ${policyName} not found`);
    this.certificateByArn(target);
    const targets = this.state.policyTargets[policyName] ?? [];
    if (targets.includes(target)) return;
    this.state.policyTargets[policyName] = [...targets, target];
    await this.persist();
  }

  async detachPolicy(policyName: string, target: string): Promise<void> {
    if (this.options.policies[policyName] === undefined)
      throw iotError.notFound(`Policy ${policyName} not found`);
    this.removeTarget(policyName, target);
    await this.persist();
  }

  listAttachedPolicies(target: string) {
    return {
      policies: this.policiesOf(target).map((policyName) => ({
        policyName,
        policyArn: this.arn(`policy/${policyName}`),
      })),
    };
  }

  private principalThings(principal: string): Array<{ thingName: string } & ThingPrincipal> {
    return Object.entries(this.state.thingPrincipals).flatMap(([thingName, principals]) =>
      principals.filter((p) => p.principal === principal).map((p) => ({ thingName, ...p })),
    );
  }

  /** AttachThingPrincipal. An EXCLUSIVE_THING principal is attached to that one thing only. */
  async attachThingPrincipal(
    thingName: string,
    principal: string,
    type = 'NON_EXCLUSIVE_THING',
  ): Promise<void> {
    if (this.state.things[thingName] === undefined)
      throw iotError.notFound(`Thing ${thingName} cannot be found.`);
    this.certificateByArn(principal);
    if (type !== 'EXCLUSIVE_THING' && type !== 'NON_EXCLUSIVE_THING')
      throw iotError.invalidRequest(
        `thingPrincipalType must be EXCLUSIVE_THING or NON_EXCLUSIVE_THING; got ${type}`,
      );
    const elsewhere = this.principalThings(principal).filter((p) => p.thingName !== thingName);
    if (
      elsewhere.some((p) => p.thingPrincipalType === 'EXCLUSIVE_THING') ||
      (type === 'EXCLUSIVE_THING' && elsewhere.length > 0)
    ) {
      throw iotError.invalidRequest(
        `Principal ${principal} is attached to ${elsewhere.map((p) => p.thingName).join(', ')}; an exclusive principal has one thing`,
      );
    }
    const principals = (this.state.thingPrincipals[thingName] ?? []).filter((p) => p.principal !== principal);
    this.state.thingPrincipals[thingName] = [...principals, { principal, thingPrincipalType: type }];
    await this.persist();
  }

  async detachThingPrincipal(thingName: string, principal: string): Promise<void> {
    if (this.state.things[thingName] === undefined)
      throw iotError.notFound(`Thing ${thingName} cannot be found.`);
    this.state.thingPrincipals[thingName] = (this.state.thingPrincipals[thingName] ?? []).filter(
      (p) => p.principal !== principal,
    );
    await this.persist();
  }

  listThingPrincipals(thingName: string) {
    if (this.state.things[thingName] === undefined)
      throw iotError.notFound(`Thing ${thingName} cannot be found.`);
    const principals = this.state.thingPrincipals[thingName] ?? [];
    return { principals: principals.map((p) => p.principal), thingPrincipalObjects: principals };
  }

  listPrincipalThings(principal: string) {
    return { things: this.principalThings(principal).map((p) => p.thingName) };
  }

  /**
   * Who a TLS client is, as IoT Core decides on CONNECT: the certificate must be registered and ACTIVE;
   * the thing is the one the client id names; `attached` says whether the certificate is attached to
   * it (`iot:Connection.Thing.IsAttached`); the permissions are those of the policies attached to the
   * certificate (none: nothing is allowed).
   */
  identify(certificateDer: Uint8Array, clientId: string): Identification {
    const certificateId = certificateIdOf(certificateDer);
    const cert = this.state.certificates[certificateId];
    if (cert === undefined) return { ok: false, certificateId, reason: 'certificate is not registered' };
    if (cert.status !== 'ACTIVE')
      return { ok: false, certificateId, reason: `certificate is ${cert.status}` };
    const thing = this.state.things[clientId];
    const attached = (this.state.thingPrincipals[clientId] ?? []).some(
      (p) => p.principal === cert.certificateArn,
    );
    const permissions = this.policiesOf(cert.certificateArn).flatMap(
      (name) => this.options.policies[name] ?? [],
    );
    return {
      ok: true,
      certificateId,
      identity: { thingName: clientId, thingType: thing?.thingTypeName ?? '', attached },
      permissions,
    };
  }
}
