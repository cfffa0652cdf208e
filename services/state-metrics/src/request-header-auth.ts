// The aggregation layer's authentication, as an extension apiserver does it: the kube-apiserver
// proxies a request with a client certificate signed by its front-proxy CA and names the user in
// request headers. What to trust comes from kube-system/extension-apiserver-authentication.
// Pure: the TLS handshake has verified the chain; this decides what the verified peer may claim.

import type { IncomingHttpHeaders } from "node:http";

export interface RequestHeaderConfig {
  /** PEM of requestheader-client-ca-file: the CA the proxy's client certificate must chain to. */
  clientCa: string;
  /** Common names the proxy's certificate may have; empty: any certificate of the CA. */
  allowedNames: readonly string[];
  usernameHeaders: readonly string[];
  groupHeaders: readonly string[];
  extraHeaderPrefixes: readonly string[];
}

export interface UserInfo {
  username: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthenticationError";
  }
}

const AUTHENTICATED_GROUP = "system:authenticated";

export const AUTHENTICATION_CONFIGMAP = { namespace: "kube-system", name: "extension-apiserver-authentication" };

/** The request-header settings of the ConfigMap's data; undefined when the apiserver has no aggregation layer. */
export function requestHeaderConfigOf(data: Record<string, string> | undefined): RequestHeaderConfig | undefined {
  const clientCa = data?.["requestheader-client-ca-file"];
  if (!clientCa) return undefined;
  const list = (key: string): string[] => {
    const text = data?.[key];
    if (!text) return [];
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  };
  return {
    clientCa,
    allowedNames: list("requestheader-allowed-names"),
    usernameHeaders: list("requestheader-username-headers"),
    groupHeaders: list("requestheader-group-headers"),
    extraHeaderPrefixes: list("requestheader-extra-headers-prefix"),
  };
}

/**
 * The user a request is made for. `peer` is the verified client certificate's common name, or
 * undefined when the client presented none or one the front-proxy CA did not sign.
 */
export function authenticateRequest(
  config: RequestHeaderConfig,
  peer: string | undefined,
  headers: IncomingHttpHeaders,
): UserInfo {
  if (peer === undefined) {
    throw new AuthenticationError("no client certificate signed by the front-proxy CA (requestheader-client-ca-file)");
  }
  if (config.allowedNames.length > 0 && !config.allowedNames.includes(peer)) {
    throw new AuthenticationError(`client certificate "${peer}" is not in requestheader-allowed-names`);
  }
  const username = config.usernameHeaders.map((h) => first(headers[h.toLowerCase()])).find((v) => v);
  if (!username)
    throw new AuthenticationError(`no user in ${config.usernameHeaders.join(", ") || "the request headers"}`);
  const groups = config.groupHeaders.flatMap((h) => all(headers[h.toLowerCase()]));
  // As the apiserver's authentication does for every authenticated user (the aggregator's own
  // discovery requests name no group, and RBAC grants discovery to this one).
  if (!groups.includes(AUTHENTICATED_GROUP)) groups.push(AUTHENTICATED_GROUP);
  const extra: Record<string, string[]> = {};
  for (const prefix of config.extraHeaderPrefixes.map((p) => p.toLowerCase())) {
    for (const [name, value] of Object.entries(headers)) {
      if (!name.startsWith(prefix) || name.length === prefix.length) continue;
      let key: string;
      try {
        key = decodeURIComponent(name.slice(prefix.length)).toLowerCase();
      } catch {
        throw new AuthenticationError(`malformed extra header ${name}`);
      }
      extra[key] = [...(extra[key] ?? []), ...all(value)];
    }
  }
  return { username, groups, extra };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function all(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  // Node joins repeated headers with ", "; a group name cannot contain a comma.
  return (Array.isArray(value) ? value : value.split(",")).map((v) => v.trim()).filter((v) => v !== "");
}
