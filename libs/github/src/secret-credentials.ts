// A GitHub credential kept in a Kubernetes Secret, as a Runner or RunnerSet names it: a GitHub App
// (id, private key, optional installation id) or a token. The keys are actions-runner-controller's,
// so a Secret made for it works unchanged. What is wrong is said by key, never with a value.

import { checkPrivateKey } from "./client.ts";
import type { GitHubAuthConfig } from "./types.ts";

export const GITHUB_SECRET_KEYS = {
  appId: "github_app_id",
  installationId: "github_app_installation_id",
  privateKey: "github_app_private_key",
  token: "github_token",
} as const;

/** A Secret that holds no usable GitHub credential; `key` is the key at fault ("" for the whole Secret). */
export class GitHubCredentialSecretError extends Error {
  override name = "GitHubCredentialSecretError";
  readonly key: string;
  constructor(key: string, message: string) {
    super(message);
    this.key = key;
  }
}

/** The GitHub auth a Secret's `data` (base64, as the apiserver returns it) holds. */
export function authFromSecretData(data: Record<string, string> | undefined): GitHubAuthConfig {
  const read = (key: string): string | undefined => {
    const value = data?.[key];
    if (value === undefined) return undefined;
    const text = Buffer.from(value, "base64").toString("utf8").trim();
    return text === "" ? undefined : text;
  };
  const token = read(GITHUB_SECRET_KEYS.token);
  const appId = read(GITHUB_SECRET_KEYS.appId);
  const privateKey = read(GITHUB_SECRET_KEYS.privateKey);
  const installationId = read(GITHUB_SECRET_KEYS.installationId);
  const hasApp = appId !== undefined || privateKey !== undefined || installationId !== undefined;
  if (token !== undefined && hasApp) {
    throw new GitHubCredentialSecretError(
      GITHUB_SECRET_KEYS.token,
      `holds both ${GITHUB_SECRET_KEYS.token} and ${GITHUB_SECRET_KEYS.appId}/${GITHUB_SECRET_KEYS.privateKey}; keep one credential`,
    );
  }
  if (token !== undefined) return { type: "token", token };
  if (!hasApp) {
    throw new GitHubCredentialSecretError(
      "",
      `has neither ${GITHUB_SECRET_KEYS.token} nor ${GITHUB_SECRET_KEYS.appId} with ${GITHUB_SECRET_KEYS.privateKey}`,
    );
  }
  if (appId === undefined)
    throw new GitHubCredentialSecretError(GITHUB_SECRET_KEYS.appId, `${GITHUB_SECRET_KEYS.appId} is missing`);
  // An App is named by its numeric id or its client id (Iv…), both accepted as a JWT's issuer.
  if (!/^([1-9][0-9]*|Iv[0-9A-Za-z.]+)$/.test(appId)) {
    throw new GitHubCredentialSecretError(
      GITHUB_SECRET_KEYS.appId,
      `${GITHUB_SECRET_KEYS.appId} is neither an App id nor a client id`,
    );
  }
  if (privateKey === undefined) {
    throw new GitHubCredentialSecretError(GITHUB_SECRET_KEYS.privateKey, `${GITHUB_SECRET_KEYS.privateKey} is missing`);
  }
  if (!checkPrivateKey(privateKey)) {
    throw new GitHubCredentialSecretError(
      GITHUB_SECRET_KEYS.privateKey,
      `${GITHUB_SECRET_KEYS.privateKey} is not a PEM private key`,
    );
  }
  let installation: number | undefined;
  if (installationId !== undefined) {
    installation = Number(installationId);
    if (!Number.isSafeInteger(installation) || installation <= 0) {
      throw new GitHubCredentialSecretError(
        GITHUB_SECRET_KEYS.installationId,
        `${GITHUB_SECRET_KEYS.installationId} is not a positive integer`,
      );
    }
  }
  return {
    type: "app",
    appId: /^[0-9]+$/.test(appId) ? Number(appId) : appId,
    privateKey,
    ...(installation !== undefined ? { installationId: installation } : {}),
  };
}
