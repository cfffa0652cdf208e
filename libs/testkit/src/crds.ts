// The octorun CRDs, installed as a user installs them: the files of deploy/crds, applied by
// kubectl, with nothing lost on the way. (client-node's typed ApiextensionsV1Api is no way to do
// it: its serializer drops every enum, default and x-kubernetes-* key of a schema.) The one thing a
// test changes is where the apiserver sends ConversionReviews, which in a cluster kustomize and
// cert-manager fill in.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import type { ControlPlane } from "./control-plane.ts";

export const CRDS_DIR = join(import.meta.dirname, "..", "..", "..", "deploy", "crds");

export interface CrdManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    conversion?: Record<string, unknown>;
    versions: Array<{ name: string; schema?: { openAPIV3Schema?: unknown } }>;
  } & Record<string, unknown>;
}

/**
 * How the apiserver converts between the served versions: the client config of a running
 * conversion webhook (e.g. the admission webhook's `conversionClientConfig`), or `"None"` where no
 * webhook runs (the apiserver then only rewrites `apiVersion`).
 */
export type CrdConversion = { webhookClientConfig: unknown } | "None";

export interface InstallCrdsOptions {
  /** Default: as the files say (the in-cluster webhook Service, which a test does not have). */
  conversion?: CrdConversion;
  timeoutSeconds?: number;
}

/** The CRDs of deploy/crds, in the order its kustomization lists them, as the files say. */
export function crdManifests(): CrdManifest[] {
  const kustomization = parse(readFileSync(join(CRDS_DIR, "kustomization.yaml"), "utf8")) as { resources: string[] };
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(join(CRDS_DIR, file), "utf8"))
      .map((document) => document.toJS() as CrdManifest | null)
      .filter((manifest): manifest is CrdManifest => manifest?.kind === "CustomResourceDefinition"),
  );
}

/** Applies deploy/crds with `kubectl apply` (as `kubectl apply -k deploy` does) and waits until they are Established. */
export async function installCrds(cp: ControlPlane, options: InstallCrdsOptions = {}): Promise<CrdManifest[]> {
  const manifests = crdManifests().map((manifest) => withConversion(manifest, options.conversion));
  const applied = await cp.kubectl(
    ["apply", "-f", "-"],
    manifests.map((manifest) => JSON.stringify(manifest)).join("\n---\n"),
  );
  if (applied.code !== 0) throw new Error(`kubectl apply of deploy/crds failed: ${applied.stderr}`);
  const established = await cp.kubectl([
    "wait",
    "--for=condition=Established",
    `--timeout=${options.timeoutSeconds ?? 60}s`,
    ...manifests.map((manifest) => `crd/${manifest.metadata.name}`),
  ]);
  if (established.code !== 0) throw new Error(`the CRDs of deploy/crds are not Established: ${established.stderr}`);
  return manifests;
}

function withConversion(manifest: CrdManifest, conversion: CrdConversion | undefined): CrdManifest {
  if (conversion === undefined) return manifest;
  const webhook = (manifest.spec.conversion?.["webhook"] ?? {}) as Record<string, unknown>;
  const spec = {
    ...manifest.spec,
    conversion:
      conversion === "None"
        ? { strategy: "None" }
        : { strategy: "Webhook", webhook: { ...webhook, clientConfig: conversion.webhookClientConfig } },
  };
  return { ...manifest, spec };
}

/** Each CRD's schema per version, by CRD name: as deploy/crds says, or as the apiserver serves it. */
export type CrdSchemas = Record<string, Record<string, unknown>>;

export function fileCrdSchemas(): CrdSchemas {
  return schemasOf(crdManifests());
}

/** What the apiserver serves for the CRDs of deploy/crds (read back with kubectl, as a user would look). */
export async function servedCrdSchemas(cp: ControlPlane): Promise<CrdSchemas> {
  const names = crdManifests().map((manifest) => `crd/${manifest.metadata.name}`);
  const read = await cp.kubectl(["get", "-o", "json", ...names]);
  if (read.code !== 0) throw new Error(`kubectl get ${names.join(" ")} failed: ${read.stderr}`);
  return schemasOf((JSON.parse(read.stdout) as { items: CrdManifest[] }).items);
}

function schemasOf(manifests: CrdManifest[]): CrdSchemas {
  return Object.fromEntries(
    manifests.map((manifest) => [
      manifest.metadata.name,
      Object.fromEntries(manifest.spec.versions.map((version) => [version.name, version.schema])),
    ]),
  );
}
