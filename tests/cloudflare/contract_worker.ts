// The inbox's contract suite inside workerd: each case runs in a Durable
// Object of its own (a fresh, empty SQLite storage), through the Durable
// Object driver — the same cases node:sqlite passes on Deno, Bun and Node.
// run.ts asks for the list, then for each case by name, one at a time.

import type {
  DurableObjectNamespace,
  DurableObjectState,
} from "../../cloudflare/_workers.ts";
import { durableObjectDriver } from "../../cloudflare/sql_driver.ts";
import { inboxContract } from "../_inbox_contract.ts";

/** The storage of the object whose case runs now (cases run one at a time). */
let storage: DurableObjectState["storage"] | undefined;
const cases = new Map<string, () => Promise<void>>();
inboxContract(
  "a Durable Object's SQL",
  () => Promise.resolve(durableObjectDriver(storage!)),
  (name, body) => cases.set(name, body),
);

/** What a case came to. */
export interface CaseResult {
  ok: boolean;
  error?: string;
}

/** One case, in an object of its own. */
export class ContractCase {
  readonly #state: DurableObjectState;
  constructor(state: DurableObjectState) {
    this.#state = state;
  }

  async fetch(request: Request): Promise<Response> {
    const name = new URL(request.url).searchParams.get("case")!;
    const body = cases.get(name);
    if (!body) return Response.json({ ok: false, error: `no case ${name}` });
    storage = this.#state.storage;
    try {
      await body();
      return Response.json({ ok: true } satisfies CaseResult);
    } catch (error) {
      return Response.json(
        {
          ok: false,
          error: error instanceof Error
            ? `${error.message}\n${error.stack ?? ""}`
            : String(error),
        } satisfies CaseResult,
      );
    } finally {
      storage = undefined;
    }
  }
}

export default {
  fetch(request: Request, env: { CASES: DurableObjectNamespace }) {
    const name = new URL(request.url).searchParams.get("case");
    if (name === null) return Response.json([...cases.keys()]);
    return env.CASES.get(env.CASES.idFromName(name)).fetch(request);
  },
};
