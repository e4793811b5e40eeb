// The inbox's SQL driver over a Durable Object's own SQLite storage
// (`ctx.storage.sql`): the same schema and statements as node:sqlite's. The
// object's SQL refuses BEGIN and COMMIT, so a transaction is the storage's
// transactionSync(), which keeps all of the body or none of it.

import type { SqlDriver, SqlValue } from "../inbox/_driver.ts";

/** The part of a Durable Object's `ctx.storage` the driver uses. */
export interface DurableObjectSqlStorage {
  /** Runs one statement with its bindings; its rows, as objects. */
  sql: {
    exec(
      query: string,
      ...bindings: SqlValue[]
    ): { toArray(): Record<string, SqlValue>[] };
  };
  /** Runs `body` in one transaction: all of it is kept, or none. */
  transactionSync<T>(body: () => T): T;
}

/**
 * An inbox driver over a Durable Object's storage. `close()` does nothing:
 * the storage lives as long as the object.
 *
 * @example In a Durable Object's constructor
 * ```ts ignore
 * import { Inbox } from "@openpush/pushover-open-client/inbox";
 * import { durableObjectDriver } from "@openpush/pushover-open-client/cloudflare";
 * this.inbox = new Inbox(durableObjectDriver(ctx.storage));
 * ```
 */
export function durableObjectDriver(
  storage: DurableObjectSqlStorage,
): SqlDriver {
  let depth = 0;
  return {
    run: (sql, ...params) => {
      storage.sql.exec(sql, ...params).toArray();
      // Not the cursor's rowsWritten: it counts the index and trigger
      // writes too (what is billed), where the inbox needs the rows changed.
      const [{ changed }] = storage.sql.exec("SELECT changes() AS changed")
        .toArray();
      return Number(changed);
    },
    all: <T>(sql: string, ...params: SqlValue[]) =>
      storage.sql.exec(sql, ...params).toArray() as T[],
    // Without a durability: the storage makes no relaxed commits.
    transaction<T>(body: () => T): T {
      // Nested calls join the outer transaction, as node:sqlite's driver.
      if (depth > 0) return body();
      depth++;
      try {
        return storage.transactionSync(body);
      } finally {
        depth--;
      }
    },
    close: () => {},
  };
}
