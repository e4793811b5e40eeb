// Fault injection: what the next matching requests will suffer instead of
// (or before) their normal answer.

/** The REST endpoints, as the log and the fault filters name them. */
export type Endpoint =
  | "login"
  | "register"
  | "download"
  | "delete"
  | "acknowledge"
  | "asset"
  | "control"
  | "unknown";

/** One injected fault. */
export type RequestFault =
  /** Answer with this status and a non-JSON body (default: an HTML page). */
  | {
    type: "status";
    status: number;
    body?: string;
    contentType?: string;
    /** Sent as the Retry-After header, e.g. "1" (seconds). */
    retryAfter?: string;
  }
  /** Answer with this body text as JSON (any text: hostile-input tests). */
  | { type: "json"; status?: number; body: string }
  /** Never answer: the request stays open until the client gives up. */
  | { type: "hang" }
  /** Answer normally after `ms` milliseconds. */
  | { type: "delay"; ms: number };

interface Pending {
  fault: RequestFault;
  endpoint?: Endpoint;
  remaining: number;
}

/** A first-in, first-out list of faults for the next requests. */
export class FaultQueue {
  #pending: Pending[] = [];

  /** The next `count` requests (to `endpoint`, or any) get `fault`. */
  add(fault: RequestFault, count = 1, endpoint?: Endpoint): void {
    // 0 would never count down to its end: every later request faulted.
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(
        `failNext: count must be a whole number ≥ 1: ${count}`,
      );
    }
    this.#pending.push({ fault, endpoint, remaining: count });
  }

  /** The fault for a request to `endpoint`, if one is due. */
  take(endpoint: Endpoint): RequestFault | undefined {
    const index = this.#pending.findIndex((p) =>
      p.endpoint === undefined || p.endpoint === endpoint
    );
    if (index === -1) return undefined;
    const pending = this.#pending[index];
    if (--pending.remaining === 0) this.#pending.splice(index, 1);
    return pending.fault;
  }

  clear(): void {
    this.#pending = [];
  }
}
