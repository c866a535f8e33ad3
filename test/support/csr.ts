import { makeKeyAndCsr } from '../../edge/src/identity/key-pair.ts';

/** A fresh P-256 key pair and a CSR for `CN=<name>`, made as the edge agent makes them. */
export async function makeCsr(subject: `CN=${string}`): Promise<{ csrPem: string; keyPem: string }> {
  return makeKeyAndCsr(subject.slice('CN='.length));
}
