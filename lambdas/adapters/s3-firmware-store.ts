import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FirmwareStore, PresignedUrl, StoredImage } from '../domain/firmware/ports.ts';

export interface S3FirmwareStoreProps {
  /**
   * Configured with `requestChecksumCalculation: 'WHEN_REQUIRED'`: with the SDK's default, presigned PUTs
   * carry a checksum of an empty body that the uploader's bytes then fail (and s3rver knows no checksums).
   */
  readonly client: S3Client;
  readonly bucketName: string;
  /** Key prefix of this registry's objects (see {@link OBJECT_PREFIXES}). @default 'images/' */
  readonly prefix?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/** S3 error names that mean "no such upload or part": the uploader has not finished, or never started. */
const MISSING = new Set(['NoSuchUpload', 'InvalidPart', 'InvalidPartOrder', 'NoSuchKey']);

/** Where a registry keeps its objects in the bucket: firmware images, and anomaly models beside them. */
export const OBJECT_PREFIXES = { firmware: 'images/', model: 'models/' } as const;

/**
 * The object key of a version's image (or model). Versions are `[0-9A-Za-z.-]`, so keys need no escaping.
 */
export function imageKey(version: string, prefix: string = OBJECT_PREFIXES.firmware): string {
  return `${prefix}${version}`;
}

/**
 * Firmware images in S3, one object per version under `images/`. Uploads and downloads use presigned
 * URLs signed with the function's role, so bytes never pass through Lambda or API Gateway; the function
 * reads an image once, to verify it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html).
 * A presigned URL stops working at its expiry or when the credentials that signed it expire, whichever
 * comes first.
 */
export class S3FirmwareStore implements FirmwareStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly now: () => number;
  private readonly prefix: string;

  constructor(props: S3FirmwareStoreProps) {
    this.client = props.client;
    this.bucket = props.bucketName;
    this.now = props.now ?? Date.now;
    this.prefix = props.prefix ?? OBJECT_PREFIXES.firmware;
  }

  private key(version: string): string {
    return imageKey(version, this.prefix);
  }

  /** Presigns with the injected clock, and says when the URL expires (epoch seconds). */
  private async presign(
    sign: (options: { expiresIn: number; signingDate: Date }) => Promise<string>,
    expiresIn: number,
  ): Promise<PresignedUrl> {
    const now = this.now();
    const url = await sign({ expiresIn, signingDate: new Date(now) });
    return { url, expiresAt: Math.floor(now / 1000) + expiresIn };
  }

  presignUpload(version: string, size: number, expiresInSeconds: number): Promise<PresignedUrl> {
    // Signing Content-Length makes S3 refuse a body of any other length.
    return this.presign(
      (options) =>
        getSignedUrl(
          this.client,
          new PutObjectCommand({ Bucket: this.bucket, Key: this.key(version), ContentLength: size }),
          options,
        ),
      expiresInSeconds,
    );
  }

  async startMultipartUpload(version: string): Promise<string> {
    const result = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(version) }),
    );
    if (result.UploadId === undefined)
      throw new Error('S3 CreateMultipartUpload answered without an UploadId');
    return result.UploadId;
  }

  presignPart(
    version: string,
    uploadId: string,
    partNumber: number,
    size: number,
    expiresInSeconds: number,
  ): Promise<PresignedUrl> {
    return this.presign(
      (options) =>
        getSignedUrl(
          this.client,
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: this.key(version),
            UploadId: uploadId,
            PartNumber: partNumber,
            ContentLength: size,
          }),
          options,
        ),
      expiresInSeconds,
    );
  }

  async completeMultipartUpload(
    version: string,
    uploadId: string,
    parts: ReadonlyArray<{ readonly partNumber: number; readonly etag: string }>,
  ): Promise<'completed' | 'missing'> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key(version),
          UploadId: uploadId,
          MultipartUpload: {
            // S3 wants parts in ascending order.
            Parts: [...parts]
              .sort((a, b) => a.partNumber - b.partNumber)
              .map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })),
          },
        }),
      );
      return 'completed';
    } catch (error) {
      if (error instanceof Error && MISSING.has(error.name)) return 'missing';
      throw error;
    }
  }

  async abortMultipartUpload(version: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key(version), UploadId: uploadId }),
      );
    } catch (error) {
      // Completed or aborted already: there is nothing left to abort.
      if (!(error instanceof Error && MISSING.has(error.name))) throw error;
    }
  }

  /**
   * Streams the object through SHA-256: memory stays flat whatever the image's size, unless `keep` asks
   * for the bytes too (a model, to inspect what was measured).
   */
  async digest(version: string, keep?: { readonly maxBytes: number }): Promise<StoredImage | undefined> {
    let body: AsyncIterable<Uint8Array>;
    let objectVersion: string | undefined;
    try {
      const result = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(version) }),
      );
      if (result.Body === undefined) return undefined;
      body = result.Body as AsyncIterable<Uint8Array>;
      objectVersion = result.VersionId;
    } catch (error) {
      if (error instanceof Error && MISSING.has(error.name)) return undefined;
      throw error;
    }
    const hash = createHash('sha256');
    let size = 0;
    const kept: Uint8Array[] = [];
    for await (const chunk of body) {
      hash.update(chunk);
      size += chunk.length;
      if (keep !== undefined && size <= keep.maxBytes) kept.push(chunk);
    }
    return {
      size,
      sha256: hash.digest('hex'),
      ...(keep !== undefined && size <= keep.maxBytes ? { bytes: Buffer.concat(kept) } : {}),
      // "null" is S3's version id of an object written while versioning was off: not worth pinning.
      ...(objectVersion === undefined || objectVersion === 'null' ? {} : { objectVersion }),
    };
  }

  async discard(version: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(version) }));
  }

  presignDownload(
    version: string,
    objectVersion: string | undefined,
    expiresInSeconds: number,
  ): Promise<PresignedUrl> {
    return this.presign(
      (options) =>
        getSignedUrl(
          this.client,
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: this.key(version),
            ...(objectVersion === undefined ? {} : { VersionId: objectVersion }),
          }),
          options,
        ),
      expiresInSeconds,
    );
  }
}
