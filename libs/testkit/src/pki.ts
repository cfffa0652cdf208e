import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A certificate and its key, both as PEM text and as file paths. */
export interface KeyPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

export interface Pki {
  dir: string;
  ca: KeyPair;
  apiserver: KeyPair;
  /** Client certificate for user `admin` in group `system:masters`. */
  admin: KeyPair;
  /** Serving certificate for localhost / 127.0.0.1, for a test's own HTTPS webhook. */
  webhook: KeyPair;
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function pair(dir: string, name: string): KeyPair {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8") };
}

function leaf(
  dir: string,
  name: string,
  subject: string,
  usage: "serverAuth" | "clientAuth",
  san?: string,
  ca = "ca",
): KeyPair {
  openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
  openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`]);
  const extensions = [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${usage}`,
    ...(san ? [`subjectAltName=${san}`] : []),
  ];
  writeFileSync(join(dir, `${name}.ext`), `${extensions.join("\n")}\n`);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "365",
    "-sha256",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.crt`,
  ]);
  return pair(dir, name);
}

function selfSignedCa(dir: string, name: string, commonName: string): void {
  openssl(dir, ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", `${name}.key`]);
  openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-sha256",
    "-days",
    "365",
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    "-out",
    `${name}.crt`,
  ]);
}

/** A throwaway PKI (ECDSA P-256, as envtest makes it) for one control plane. */
export function createPki(dir: string, extraServerNames: string[] = []): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  selfSignedCa(dir, "ca", "octorun-test-ca");
  const apiserverNames = [
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
    "IP:127.0.0.1",
    "IP:10.0.0.1",
  ].join(",");
  const webhookNames = ["DNS:localhost", "IP:127.0.0.1", ...extraServerNames.map((n) => `DNS:${n}`)].join(",");
  const apiserver = leaf(dir, "apiserver", "/CN=kube-apiserver", "serverAuth", apiserverNames);
  const admin = leaf(dir, "admin", "/O=system:masters/CN=admin", "clientAuth");
  const webhook = leaf(dir, "webhook", "/CN=localhost", "serverAuth", webhookNames);
  openssl(dir, ["genrsa", "-out", "sa.key", "2048"]);
  openssl(dir, ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
  return {
    dir,
    ca: pair(dir, "ca"),
    apiserver,
    admin,
    webhook,
    serviceAccountKeyFile: join(dir, "sa.key"),
    serviceAccountPublicKeyFile: join(dir, "sa.pub"),
  };
}

/**
 * The aggregation layer's own CA (requestheader-client-ca-file) and the client certificate the
 * kube-apiserver presents to aggregated APIs (--proxy-client-cert-file), as kubeadm makes them.
 */
export interface FrontProxyPki {
  ca: KeyPair;
  client: KeyPair;
  /** The client certificate's common name (requestheader-allowed-names). */
  clientName: string;
}

export function createFrontProxyPki(dir: string): FrontProxyPki {
  const clientName = "front-proxy-client";
  selfSignedCa(dir, "front-proxy-ca", "octorun-test-front-proxy-ca");
  const client = leaf(dir, "front-proxy-client", `/CN=${clientName}`, "clientAuth", undefined, "front-proxy-ca");
  return { ca: pair(dir, "front-proxy-ca"), client, clientName };
}

/** A serving certificate signed by the control plane's CA, for the DNS names given (a Service's). */
export function issueServingCertificate(pki: Pki, name: string, dnsNames: string[]): KeyPair {
  const san = ["DNS:localhost", "IP:127.0.0.1", ...dnsNames.map((n) => `DNS:${n}`)].join(",");
  return leaf(pki.dir, name, `/CN=${dnsNames[0] ?? name}`, "serverAuth", san);
}
