// A peer certificate as Python's SSLSocket.getpeercert() shows it.
import type { X509Certificate } from "node:crypto";

/** One relative distinguished name: [[attribute, value], ...]. */
export type RDN = [string, string][];

/** The decoded peer certificate, with Python's keys. Python: the dict getpeercert() returns */
export interface PeerCertificate {
  /** Who the certificate names, as relative distinguished names (`[[['commonName', 'example.com']]]`). */
  subject?: RDN[];
  /** Who signed the certificate, in subject's shape. */
  issuer?: RDN[];
  /** The X.509 version (3 for current certificates). */
  version?: number;
  /** The serial number in upper-case hex. */
  serialNumber?: string;
  /** Start of validity, as OpenSSL prints it ('Jan  1 00:00:00 2025 GMT'). */
  notBefore?: string;
  /** End of validity, in notBefore's format. */
  notAfter?: string;
  /** Alternative names as `[type, value]` pairs, e.g. `['DNS', 'example.com']`. */
  subjectAltName?: [string, string][];
  /** OCSP responder URLs. */
  OCSP?: string[];
  /** URLs of the issuer's certificate. */
  caIssuers?: string[];
}

// OpenSSL's short attribute names → the long names Python prints.
const LONG: Record<string, string> = {
  CN: "commonName", O: "organizationName", OU: "organizationalUnitName", C: "countryName", ST: "stateOrProvinceName",
  L: "localityName", emailAddress: "emailAddress", DC: "domainComponent", serialNumber: "serialNumber",
  street: "streetAddress", postalCode: "postalCode", GN: "givenName", SN: "surname", title: "title",
};

/** "O=Org\nCN=name" (one RDN a line, as X509Certificate prints a name) → Python's tuple of RDNs. */
function rdns(name: string | undefined): RDN[] {
  if (!name) return [];
  return name.split("\n").filter((l) => l.includes("=")).map((line) => {
    const i = line.indexOf("=");
    const key = line.slice(0, i);
    return [[LONG[key] ?? key, line.slice(i + 1)]] as RDN;
  });
}

function altNames(s: string | undefined): [string, string][] {
  if (!s) return [];
  // "DNS:localhost, IP Address:127.0.0.1" (values with ", " inside are quoted by Node)
  return s.split(/, (?=[A-Za-z ]+:)/).map((part) => {
    const i = part.indexOf(":");
    return [part.slice(0, i), part.slice(i + 1).replace(/^"(.*)"$/, "$1")] as [string, string];
  });
}

function access(info: string | undefined, kind: string): string[] {
  if (!info) return [];
  return info.split("\n").filter((l) => l.startsWith(`${kind} - URI:`)).map((l) => l.slice(kind.length + 7));
}

/** Python's getpeercert() dict for a certificate (read from the X509Certificate itself, which stays valid). */
export function peerCertDict(x: X509Certificate): PeerCertificate {
  const out: PeerCertificate = {
    subject: rdns(x.subject),
    issuer: rdns(x.issuer),
    version: 3,
    serialNumber: x.serialNumber.toUpperCase(),
    notBefore: x.validFrom,
    notAfter: x.validTo,
  };
  const san = altNames(x.subjectAltName);
  if (san.length > 0) out.subjectAltName = san;
  const ocsp = access(x.infoAccess, "OCSP");
  if (ocsp.length > 0) out.OCSP = ocsp;
  const ca = access(x.infoAccess, "CA Issuers");
  if (ca.length > 0) out.caIssuers = ca;
  return out;
}
