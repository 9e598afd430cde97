// A peer certificate as Python's SSLSocket.getpeercert() shows it.
import type { PeerCertificate as NodePeerCertificate } from "node:tls";

/** One relative distinguished name: [[attribute, value], ...]. */
export type RDN = [string, string][];

/** The decoded peer certificate, with Python's keys. Python: the dict getpeercert() returns */
export interface PeerCertificate {
  subject?: RDN[];
  issuer?: RDN[];
  version?: number;
  serialNumber?: string;
  notBefore?: string;
  notAfter?: string;
  subjectAltName?: [string, string][];
  OCSP?: string[];
  caIssuers?: string[];
}

// OpenSSL's short attribute names → the long names Python prints.
const LONG: Record<string, string> = {
  CN: "commonName", O: "organizationName", OU: "organizationalUnitName", C: "countryName", ST: "stateOrProvinceName",
  L: "localityName", emailAddress: "emailAddress", DC: "domainComponent", serialNumber: "serialNumber",
  street: "streetAddress", postalCode: "postalCode", GN: "givenName", SN: "surname", title: "title",
};

function rdns(name: Record<string, string | string[]> | undefined): RDN[] {
  if (name === undefined || name === null) return [];
  const out: RDN[] = [];
  for (const [k, v] of Object.entries(name)) {
    for (const value of Array.isArray(v) ? v : [v]) out.push([[LONG[k] ?? k, value]]);
  }
  return out;
}

function altNames(s: string | undefined): [string, string][] {
  if (!s) return [];
  // "DNS:localhost, IP Address:127.0.0.1" (values with ", " inside are quoted by Node)
  return s.split(/, (?=[A-Za-z ]+:)/).map((part) => {
    const i = part.indexOf(":");
    return [part.slice(0, i), part.slice(i + 1).replace(/^"(.*)"$/, "$1")] as [string, string];
  });
}

/** Python's getpeercert() dict for a certificate Node decoded. */
export function peerCertDict(c: NodePeerCertificate): PeerCertificate {
  const out: PeerCertificate = {
    subject: rdns(c.subject as unknown as Record<string, string | string[]>),
    issuer: rdns(c.issuer as unknown as Record<string, string | string[]>),
    version: 3,
    serialNumber: c.serialNumber?.toUpperCase(),
    notBefore: c.valid_from,
    notAfter: c.valid_to,
  };
  const san = altNames(c.subjectaltname);
  if (san.length > 0) out.subjectAltName = san;
  const info = c.infoAccess as Record<string, string[]> | undefined;
  if (info?.["OCSP - URI"]) out.OCSP = info["OCSP - URI"];
  if (info?.["CA Issuers - URI"]) out.caIssuers = info["CA Issuers - URI"];
  return out;
}
