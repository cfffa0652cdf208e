// GitHub App JWTs as GitHub checks them: RS256 over `header.payload` with the App's public key,
// `iss` the App id, `iat` not in the future (60 s of clock drift allowed), `exp` in the future and
// at most 10 minutes after `iat`.
import { createVerify, type KeyObject } from "node:crypto";

export type JwtCheck = { ok: true; appId: number } | { ok: false; message: string };

export function verifyAppJwt(
  token: string,
  publicKeyFor: (appId: number) => KeyObject | undefined,
  nowMs: number,
): JwtCheck {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, message: "A JSON web token could not be decoded" };
  const [rawHeader, rawPayload, signature] = parts as [string, string, string];
  let header: { alg?: string };
  let payload: { iss?: unknown; iat?: unknown; exp?: unknown };
  try {
    header = JSON.parse(Buffer.from(rawHeader, "base64url").toString("utf8"));
    payload = JSON.parse(Buffer.from(rawPayload, "base64url").toString("utf8"));
  } catch {
    return { ok: false, message: "A JSON web token could not be decoded" };
  }
  if (header.alg !== "RS256") return { ok: false, message: "A JSON web token could not be decoded" };
  const appId = Number(payload.iss);
  const key = Number.isInteger(appId) ? publicKeyFor(appId) : undefined;
  if (!key) return { ok: false, message: `'Issuer' claim ('iss') must be an Integer` };
  const verifier = createVerify("RSA-SHA256");
  verifier.update(`${rawHeader}.${rawPayload}`);
  if (!verifier.verify(key, Buffer.from(signature, "base64url"))) {
    return { ok: false, message: "A JSON web token could not be decoded" };
  }
  const now = Math.floor(nowMs / 1000);
  if (typeof payload.iat !== "number" || payload.iat > now + 60) {
    return { ok: false, message: "'Issued at' claim ('iat') must be an Integer representing a time in the past" };
  }
  if (typeof payload.exp !== "number" || payload.exp <= now) {
    return {
      ok: false,
      message:
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    };
  }
  if (payload.exp - payload.iat > 600) {
    return { ok: false, message: "'Expiration time' claim ('exp') is too far in the future" };
  }
  return { ok: true, appId };
}
