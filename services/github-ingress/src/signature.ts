import { createHmac, timingSafeEqual } from "node:crypto";

export type SignatureCheck = { valid: true } | { valid: false; reason: "missing" | "malformed" | "mismatch" };

const pattern = /^sha256=([0-9a-f]{64})$/i;

/**
 * Checks `X-Hub-Signature-256` (`sha256=<hex HMAC-SHA256 of the raw body>`) against each secret
 * (the current one and those being rotated out). Runs on the raw bytes before anything is parsed
 * and compares digests in constant time.
 */
export function checkSignature(
  secrets: readonly string[],
  body: Uint8Array,
  header: string | undefined,
): SignatureCheck {
  if (header === undefined || header === "") return { valid: false, reason: "missing" };
  const match = pattern.exec(header.trim());
  if (!match) return { valid: false, reason: "malformed" };
  const given = Buffer.from(match[1]!, "hex");
  let valid = false;
  // Every secret is tried, so the time taken does not tell which one matched.
  for (const secret of secrets) {
    const expected = createHmac("sha256", secret).update(body).digest();
    if (timingSafeEqual(expected, given)) valid = true;
  }
  return valid ? { valid: true } : { valid: false, reason: "mismatch" };
}
