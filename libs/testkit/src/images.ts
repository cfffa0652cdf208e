// octorun's images, built from their own Dockerfiles by scripts/build-images.sh (buildah, no
// Docker engine) into OCI archives in the cache, for the real test node to import.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { cacheDir } from "./binaries.ts";

const script = join(import.meta.dirname, "..", "scripts", "build-images.sh");

export const IMAGE_NAMES = [
  "pause",
  "runner",
  "controller",
  "admission-webhook",
  "github-ingress",
  "state-metrics",
] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

export interface BuiltImage {
  /** The OCI archive, for `ctr images import`. */
  archive: string;
  /** The reference it carries, for a Pod's `image` with imagePullPolicy Never. */
  ref: string;
}

/** The image's reference as the archive names it. */
export function imageRef(name: ImageName): string {
  return name === "pause" ? "octorun.test/pause:1" : `octorun.test/${name}:dev`;
}

/**
 * Builds the named images where they are missing or out of date (buildah's layer cache makes an
 * unchanged image a matter of seconds) and returns their archives. `npm run images` builds all.
 */
export function ensureImages<N extends ImageName>(names: readonly N[]): Record<N, BuiltImage> {
  const result = spawnSync("bash", [script], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, OCTORUN_CACHE: cacheDir(), IMAGES: names.join(" ") },
  });
  if (result.status !== 0) throw new Error(`building the images ${names.join(", ")} failed (exit ${result.status})`);
  const dir = join(cacheDir(), "images");
  return Object.fromEntries(
    names.map((name) => [name, { archive: join(dir, `${name}.tar`), ref: imageRef(name) }]),
  ) as Record<N, BuiltImage>;
}
