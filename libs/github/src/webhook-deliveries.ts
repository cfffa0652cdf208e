// The App webhook's deliveries (`apps/list-webhook-deliveries`, `apps/redeliver-webhook-delivery`):
// GitHub never retries a failed delivery by itself, so a caller lists recent attempts and asks for
// the failed ones again. Both take the App's JWT (no installation token, no personal token).
import { GitHubValidationError } from "./errors.ts";
import type { GitHubTransport } from "./transport.ts";
import type { ListWebhookDeliveriesRequest, WebhookDeliveryItem } from "./types.ts";

const LIST = "apps/list-webhook-deliveries";
const REDELIVER = "apps/redeliver-webhook-delivery";
/** A bound on paging (100 000 attempts), should a server keep answering with a next cursor. */
const MAX_PAGES = 1000;

/**
 * Every attempt delivered at or after `since`, newest first. GitHub pages by cursor (the `Link`
 * header's `rel="next"` URL carries `cursor=`) from the newest attempt down, so paging stops at the
 * first page that reaches an attempt older than `since`.
 */
export async function listWebhookDeliveries(
  transport: GitHubTransport,
  request: ListWebhookDeliveriesRequest,
): Promise<WebhookDeliveryItem[]> {
  const since = typeof request.since === "number" ? request.since : request.since.getTime();
  if (!Number.isFinite(since)) {
    throw new GitHubValidationError(`${LIST}: since must be a valid time`, { operation: LIST, status: 0 });
  }
  const perPage = Math.min(100, Math.max(1, Math.trunc(request.perPage ?? 100)));
  const items: WebhookDeliveryItem[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const response = await transport.send<WebhookDeliveryItem[]>(LIST, "GET /app/hook/deliveries", {
      per_page: perPage,
      ...(cursor === undefined ? {} : { cursor }),
    });
    const batch = Array.isArray(response.data) ? response.data : [];
    let reachedOlder = false;
    for (const item of batch) {
      if (Date.parse(item.delivered_at) >= since) items.push(item);
      else reachedOlder = true;
    }
    cursor = nextCursor(response.headers.link);
    if (reachedOlder || cursor === undefined || batch.length === 0) break;
  }
  return items;
}

/** Asks GitHub to send the attempt's event again (202: accepted, sent afterwards, same guid). */
export async function redeliverWebhookDelivery(transport: GitHubTransport, id: number): Promise<void> {
  if (!Number.isSafeInteger(id) || id < 1) {
    throw new GitHubValidationError(`${REDELIVER}: ${id} is not a delivery id`, { operation: REDELIVER, status: 0 });
  }
  await transport.send(REDELIVER, "POST /app/hook/deliveries/{delivery_id}/attempts", { delivery_id: id });
}

/** The `cursor` of the `rel="next"` link, if there is one. */
export function nextCursor(link: string | number | undefined): string | undefined {
  for (const part of String(link ?? "").split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (!match?.[1]) continue;
    try {
      return new URL(match[1]).searchParams.get("cursor") ?? undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
