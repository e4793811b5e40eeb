// Where a device's messages go on from its Durable Object: a webhook, and a
// Cloudflare Queue. Each reads the object's inbox through a cursor of its
// own (runSink), so one that fails holds back only itself.

import type { Message } from "../mod.ts";
import type { StoredMessage } from "../inbox/store.ts";
import type { QueueProducer } from "./_workers.ts";

/** What a sink sends for one message: the same body to a webhook and a Queue. */
export interface Delivery {
  /** `deviceId:id`: a consumer drops a second delivery with the same key. */
  dedupeKey: string;
  /** The device it came to. */
  device: string;
  /** The inbox position, for `retry`. */
  seq: number;
  /** Every field as received; ids also as exact strings (`id_str`). */
  message: Message;
}

/** The body a sink sends for `stored`. */
export function deliveryOf(stored: StoredMessage): Delivery {
  return {
    dedupeKey: `${stored.device}:${stored.message.id_str}`,
    device: stored.device,
    seq: stored.seq,
    message: stored.message,
  };
}

/** A failure that trying again cannot change (the sink sets it aside). */
export class PermanentFailure extends Error {}

/**
 * POSTs the delivery as JSON; a 2xx takes it. A 4xx but 408 and 429 is
 * permanent (the receiver refuses this body); anything else — no answer
 * within `timeout` ms too — is tried again by the object's next alarm (a
 * minute at most, so a Retry-After is not waited out).
 */
export function webhookSink(
  url: string,
  timeout: number,
  fetcher: typeof fetch = fetch,
): (stored: StoredMessage) => Promise<void> {
  const origin = new URL(url).origin; // never the path: it may hold a token
  return async (stored) => {
    let response: Response;
    try {
      response = await fetcher(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(deliveryOf(stored)),
        // Without it, a receiver that never answers holds the sink for good.
        signal: AbortSignal.timeout(timeout),
      });
    } catch (error) {
      throw new Error(
        `webhook ${origin}: ${
          (error as Error).name === "TimeoutError"
            ? `no answer within ${timeout / 1000} s`
            : (error as Error).message
        }`,
      );
    }
    await response.body?.cancel();
    if (response.ok) return;
    const why = `webhook ${origin} answered ${response.status}`;
    if (
      response.status >= 400 && response.status < 500 &&
      response.status !== 408 && response.status !== 429
    ) {
      throw new PermanentFailure(why);
    }
    throw new Error(why);
  };
}

/**
 * Sends the delivery to a Queue. At least once: a message sent whose
 * acknowledgement was lost is sent again — the dedupe key tells.
 */
export function queueSink(
  queue: QueueProducer,
): (stored: StoredMessage) => Promise<void> {
  return async (stored) => {
    try {
      await queue.send(deliveryOf(stored), { contentType: "json" });
    } catch (error) {
      throw new Error(`queue: ${(error as Error).message}`);
    }
  };
}
