/**
 * PUTs a file to a presigned URL with progress: `fetch` reports no upload progress, XMLHttpRequest does.
 * The URL's signature covers the length, so the body is sent as it is, with no content type. Answers the
 * object's ETag (a multipart upload's parts are completed with them).
 */
export function uploadWithProgress(
  url: string,
  file: Blob,
  onProgress: (sent: number, total: number) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.upload.onprogress = (event) =>
      onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve(xhr.getResponseHeader('etag') ?? '')
        : reject(new Error(`the upload was refused: HTTP ${xhr.status} ${xhr.responseText.slice(0, 200)}`));
    xhr.onerror = () => reject(new Error('the upload failed: the storage endpoint could not be reached'));
    xhr.send(new Blob([file]));
  });
}

/** SHA-256 of a file, as the firmware registration declares it (hex). */
export async function sha256Hex(file: Blob): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}
