/**
 * The JSON Canonicalization Scheme (JCS, RFC 8785): one byte sequence for one JSON value, whoever
 * serializes it.
 *
 * Why a canonical form at all: what fleetkit signs is a manifest *object*, not bytes someone kept. The
 * catalog stores it as a DynamoDB map (which keeps no key order), the jobs service rebuilds the job
 * document from that map for every request, and the device parses the document, keeps it in its state
 * file and checks it again after a reboot. Each of those steps may reorder keys or re-escape strings;
 * JCS makes every one of them produce the same bytes from the same value, so a signature made once at
 * release time still verifies at the device.
 *
 * Why JCS rather than another canonical form: it is a published standard with independent
 * implementations in most languages (a device in C or Rust can verify), it is plain JSON (no new
 * encoding for operators to read), and its rules are exactly ECMAScript's `JSON.stringify` for strings
 * and numbers (RFC 8785 §3.2.2.2, §3.2.2.3) plus keys sorted by UTF-16 code units (§3.2.3) — so in
 * TypeScript it is a few lines on top of the platform, with nothing to vendor.
 *
 * fleetkit manifests hold only strings, safe integers, booleans, arrays and objects; this
 * implementation refuses what JCS cannot represent (non-finite numbers, `undefined` in an array,
 * functions, bigints) rather than guessing.
 */

/** A value JCS can serialize. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue | undefined };

/** Something the canonical form cannot represent, with where it was found. */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

/** RFC 8785 §3.2.3: property names sorted by their UTF-16 code units, which is JS's default string order. */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function serialize(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      // §3.2.2.2: the escaping ECMAScript's JSON.stringify does (well-formed since ES2019).
      return JSON.stringify(value);
    case 'number':
      // §3.2.2.3: ECMAScript's Number serialization; NaN and the infinities have no JSON form.
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${path}: ${value} has no JSON form`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item, i) => {
          if (item === undefined) throw new CanonicalJsonError(`${path}[${i}]: undefined in an array`);
          return serialize(item, `${path}[${i}]`);
        })}]`;
      }
      const entries = Object.entries(value as Record<string, unknown>)
        // An absent optional field and one set to undefined are the same manifest.
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => compareUtf16(a, b));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v, `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new CanonicalJsonError(`${path}: a ${typeof value} has no JSON form`);
  }
}

/**
 * The RFC 8785 canonical form of `value` as a string.
 *
 * @throws CanonicalJsonError for a value JSON cannot carry (NaN, Infinity, undefined in an array, a bigint)
 */
export function canonicalJson(value: CanonicalValue): string {
  return serialize(value, '$');
}

/** The canonical form as UTF-8 bytes (§3.2.4): what is signed. */
export function canonicalJsonBytes(value: CanonicalValue): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}
