// PEM certificate files as the config names them: the certificates they hold, and the
// CRL distribution points those certificates name. Shared by the config validator
// (level 2 needs a CRL source: a `crl` entry or a point in these files) and the daemon
// (signature-auth.ts loads the same files and fetches the same points).

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { certFields, crlDistributionPoints } from './x509-fields.ts';

/** PEM file with one or more certificates -> the certificates, in file order. */
export function certificatesInPemFile(file: string): X509Certificate[] {
  const text = readFileSync(file, 'utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/**
 * The http:// cRLDistributionPoints (RFC 5280 §4.2.1.13) of every certificate in
 * these PEM files, without repeats. An unreadable file or extension gives none: the
 * caller that loads the files for use reports those.
 */
export function distributionPointsOfPemFiles(files: readonly string[]): string[] {
  const urls: string[] = [];
  for (const file of files) {
    try {
      for (const c of certificatesInPemFile(file)) for (const u of crlDistributionPoints(certFields(Buffer.from(c.raw)))) urls.push(u);
    } catch {
      // reported by whoever loads the file for use
    }
  }
  return [...new Set(urls)];
}
