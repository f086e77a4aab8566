// Throw-away PKI for the certificate tests: the openssl command line tool
// makes the keys and certificates; this is what those tests share. Not a test.
import { execFileSync } from 'node:child_process';

/** Why certificate tests cannot run here, or null when the openssl tool is present. */
export function opensslSkipReason(): string | null {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'SKIPPED: the openssl command line tool is not installed';
  }
}

/** openssl x509v3 sections: a root CA, and leaf certificates for gwA.lab and gwB.lab
 * with the digitalSignature key usage that IKE signatures require. */
export const GATEWAY_CERT_EXT = `
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[gwA]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:gwA.lab
[gwB]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
subjectAltName = DNS:gwB.lab
`;
