// What the inbox needs of a SQLite database: run a statement, read rows, and
// a transaction. Transactions belong to the driver, not to the SQL text: a
// Durable Object's SQL refuses BEGIN and COMMIT and has transactionSync().

/** How soon a commit must be on disk: see {@linkcode SqlDriver.transaction}. */
export type Durability = "synced" | "relaxed";

/** A value every driver binds and returns alike. */
export type SqlValue = string | number | null;

/**
 * One SQLite database, as the inbox uses it. Every method is synchronous:
 * both node:sqlite and a Durable Object's `ctx.storage.sql` are.
 *
 * @example A driver over node:sqlite's DatabaseSync (what openInbox uses)
 * ```ts ignore
 * const driver: SqlDriver = {
 *   run: (sql, ...params) => Number(db.prepare(sql).run(...params).changes),
 *   all: (sql, ...params) => db.prepare(sql).all(...params) as never,
 *   transaction: (body) => { … BEGIN IMMEDIATE … COMMIT or ROLLBACK … },
 *   close: () => db.close(),
 * };
 * ```
 */
export interface SqlDriver {
  /** Runs one statement; resolves to the number of rows it changed. */
  run(sql: string, ...params: SqlValue[]): number;
  /** The rows a query returns, as objects keyed by column name. */
  all<T>(sql: string, ...params: SqlValue[]): T[];
  /**
   * Runs `body` in one transaction: all of it is kept, or none. Its commit
   * is on disk when this returns; a `"relaxed"` one may not be yet — it
   * survives the process's crash, not a power cut — for what is cheaper to
   * do again than to sync each time (a sink's position: a sink that falls
   * back re-delivers). A later synced commit syncs the relaxed ones before
   * it. Storage without the distinction (a Durable Object's) ignores it.
   */
  transaction<T>(body: () => T, durability?: Durability): T;
  /** Closes the database; nothing may be called after. */
  close(): void;
}
