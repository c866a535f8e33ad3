/**
 * Error codes of `+CME ERROR` (3GPP TS 27.007 §9.2) and `+CMS ERROR` (3GPP TS 27.005 §3.2.5), numeric
 * ↔ verbose, so both `+CMEE=1` and `+CMEE=2` forms resolve to the same code and text. The tables
 * hold the codes an IoT modem meets in practice, not every code the specs define.
 */

/** 27.007 §9.2.1 general errors and §9.2.2 GPRS / EPS related errors. */
export const CME_ERRORS: ReadonlyMap<number, string> = new Map([
  [0, 'phone failure'],
  [1, 'no connection to phone'],
  [2, 'phone-adaptor link reserved'],
  [3, 'operation not allowed'],
  [4, 'operation not supported'],
  [5, 'PH-SIM PIN required'],
  [6, 'PH-FSIM PIN required'],
  [7, 'PH-FSIM PUK required'],
  [10, 'SIM not inserted'],
  [11, 'SIM PIN required'],
  [12, 'SIM PUK required'],
  [13, 'SIM failure'],
  [14, 'SIM busy'],
  [15, 'SIM wrong'],
  [16, 'incorrect password'],
  [17, 'SIM PIN2 required'],
  [18, 'SIM PUK2 required'],
  [20, 'memory full'],
  [21, 'invalid index'],
  [22, 'not found'],
  [23, 'memory failure'],
  [24, 'text string too long'],
  [25, 'invalid characters in text string'],
  [26, 'dial string too long'],
  [27, 'invalid characters in dial string'],
  [30, 'no network service'],
  [31, 'network timeout'],
  [32, 'network not allowed - emergency calls only'],
  [40, 'network personalization PIN required'],
  [41, 'network personalization PUK required'],
  [42, 'network subset personalization PIN required'],
  [43, 'network subset personalization PUK required'],
  [44, 'service provider personalization PIN required'],
  [45, 'service provider personalization PUK required'],
  [46, 'corporate personalization PIN required'],
  [47, 'corporate personalization PUK required'],
  [50, 'incorrect parameters'],
  [100, 'unknown'],
  [103, 'illegal MS'],
  [106, 'illegal ME'],
  [107, 'GPRS services not allowed'],
  [111, 'PLMN not allowed'],
  [112, 'location area not allowed'],
  [113, 'roaming not allowed in this location area'],
  [126, 'insufficient resources'],
  [127, 'missing or unknown APN'],
  [128, 'unknown PDP address or PDP type'],
  [129, 'user authentication failed'],
  [132, 'service option not supported'],
  [133, 'requested service option not subscribed'],
  [134, 'service option temporarily out of order'],
  [148, 'unspecified GPRS error'],
  [149, 'PDP authentication failure'],
]);

/** 27.005 §3.2.5 message service failure results. */
export const CMS_ERRORS: ReadonlyMap<number, string> = new Map([
  [300, 'ME failure'],
  [301, 'SMS service of ME reserved'],
  [302, 'operation not allowed'],
  [303, 'operation not supported'],
  [304, 'invalid PDU mode parameter'],
  [305, 'invalid text mode parameter'],
  [310, 'SIM not inserted'],
  [311, 'SIM PIN required'],
  [313, 'SIM failure'],
  [314, 'SIM busy'],
  [315, 'SIM wrong'],
  [320, 'memory failure'],
  [321, 'invalid memory index'],
  [322, 'memory full'],
  [330, 'SMSC address unknown'],
  [331, 'no network service'],
  [332, 'network timeout'],
  [500, 'unknown error'],
]);

function normalize(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[\s_-]+/g, ' ');
}

/**
 * Resolves the `<err>` of a `+CME ERROR` / `+CMS ERROR` line, numeric or verbose, against `table`.
 * Verbose texts are matched case- and punctuation-insensitively (vendors differ in `PH-SIM` /
 * `PH SIM`, capitals).
 */
export function resolveErrorCode(
  table: ReadonlyMap<number, string>,
  err: string,
): { readonly code: number | undefined; readonly text: string } {
  const trimmed = err.trim().replace(/^"(.*)"$/, '$1');
  if (/^\d+$/.test(trimmed)) {
    const code = Number(trimmed);
    return { code, text: table.get(code) ?? `unknown error ${code}` };
  }
  const wanted = normalize(trimmed);
  for (const [code, text] of table) if (normalize(text) === wanted) return { code, text };
  return { code: undefined, text: trimmed };
}
