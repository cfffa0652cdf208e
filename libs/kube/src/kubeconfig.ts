import { existsSync } from "node:fs";
import { KubeConfig } from "./client-node.ts";
import { KubeConfigError } from "./errors.ts";

export interface LoadKubeConfigOptions {
  /** An explicit kubeconfig file; wins over everything else. */
  path?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Prefix of the in-cluster service-account paths (a test's fake root). */
  inClusterPathPrefix?: string;
}

const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * Loads a kubeconfig: an explicit path, else $KUBECONFIG, else the in-cluster service account
 * (KUBERNETES_SERVICE_HOST and the mounted token), else ~/.kube/config. Fails with a message that
 * says what was tried.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const env = options.env ?? process.env;
  const kc = new KubeConfig();
  const fromFile = (path: string, what: string) => {
    if (!existsSync(path)) throw new KubeConfigError(`${what} ${path} does not exist`);
    try {
      kc.loadFromFile(path);
    } catch (error) {
      throw new KubeConfigError(`${what} ${path} cannot be read: ${(error as Error).message}`, { cause: error });
    }
  };
  if (options.path) fromFile(options.path, "kubeconfig");
  else if (env.KUBECONFIG) fromFile(env.KUBECONFIG.split(":")[0] ?? env.KUBECONFIG, "KUBECONFIG");
  else if (
    env.KUBERNETES_SERVICE_HOST &&
    existsSync(`${options.inClusterPathPrefix ?? ""}${serviceAccountDir}/token`)
  ) {
    kc.loadFromCluster(options.inClusterPathPrefix);
  } else if (env.HOME && existsSync(`${env.HOME}/.kube/config`)) fromFile(`${env.HOME}/.kube/config`, "kubeconfig");
  else {
    throw new KubeConfigError(
      "no kubeconfig: set KUBECONFIG, run in a cluster with a service account, or create ~/.kube/config",
    );
  }
  if (!kc.getCurrentCluster()) throw new KubeConfigError("the kubeconfig has no current context with a cluster");
  return kc;
}
