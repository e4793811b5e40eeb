// The inbox's driver over the runtime's own SQLite (`node:sqlite`: Node
// 22.13 and later, Deno 2, Bun 1): a file made 0600 in a 0700 folder,
// written ahead (WAL) and synced at each commit.

import { chmod, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";
import type { Durability, SqlDriver, SqlValue } from "./_driver.ts";

import { InboxError } from "./_errors.ts";

export { InboxError };

/** The part of node:sqlite the driver uses. */
interface Statement {
  run(...params: SqlValue[]): { changes: number | bigint };
  all(...params: SqlValue[]): unknown[];
}
interface Database {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
}
type DatabaseClass = new (path: string) => Database;

/**
 * node:sqlite's database class; a clear error where the runtime has none
 * (Node before 22.13, a browser, a Worker). Node 22 warns that SQLite is
 * experimental on first use: that warning is not the user's business.
 */
async function databaseClass(): Promise<DatabaseClass> {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: never[]) => {
    if (!String(warning).includes("SQLite")) {
      emitWarning.call(process, warning, ...rest);
    }
  }) as typeof process.emitWarning;
  try {
    const sqlite = await import("node:sqlite") as unknown as {
      DatabaseSync: DatabaseClass;
    };
    return sqlite.DatabaseSync;
  } catch {
    throw new InboxError(
      "the inbox needs the runtime's built-in SQLite (node:sqlite: Node 22.13 or newer, Deno 2, Bun 1), which this runtime does not have",
    );
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * Makes `path`'s folder (0700 whatever the umask) and the file (0600)
 * before SQLite opens it, so that the messages are never readable by others,
 * not even for a moment.
 */
async function preparePrivateFile(path: string): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const file = await open(path, "a", 0o600);
  await file.close();
  await chmod(path, 0o600);
}

/**
 * Opens (or creates) the SQLite file at `path` as an inbox driver; `":memory:"`
 * opens one that lives only as long as it is open.
 */
export async function openSqliteFile(path: string): Promise<SqlDriver> {
  const DatabaseSync = await databaseClass();
  if (path !== ":memory:") {
    await preparePrivateFile(path).catch((error) => {
      const code = (error as { code?: string }).code ?? String(error);
      throw new InboxError(
        `the inbox ${path}: cannot create it (${code}); give --inbox a file in a folder you can write`,
        { cause: error },
      );
    });
  }
  let db: Database;
  let wal: boolean;
  try {
    db = new DatabaseSync(path);
    // The busy timeout first: setting the journal mode may wait for a lock
    // (another process's checkpoint), and must not fail at once for it.
    // WAL: readers (history, another process's --follow) never wait for
    // the writer. FULL: a commit is on disk before the server's delete.
    db.exec(
      "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
    );
    // Where WAL cannot be had (a file system without shared memory, or
    // ":memory:"), a commit without a sync could leave a power cut a broken
    // file, not an older one: every commit is synced there.
    const [mode] = db.prepare("PRAGMA journal_mode").all() as {
      journal_mode: string;
    }[];
    wal = mode.journal_mode === "wal";
  } catch (error) {
    throw unusable(path, error);
  }
  const statements = new Map<string, Statement>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  let depth = 0;
  return {
    run: (sql, ...params) =>
      guard(path, () => Number(prepared(sql).run(...params).changes)),
    // Rows come without a prototype: copied into plain objects, as every
    // driver returns them.
    all: <T>(sql: string, ...params: SqlValue[]) =>
      guard(
        path,
        () => prepared(sql).all(...params).map((row) => ({ ...row as object })),
      ) as T[],
    transaction<T>(body: () => T, durability?: Durability): T {
      // Nested calls join the outer transaction.
      if (depth > 0) return body();
      // In WAL mode NORMAL appends the commit without syncing it; the next
      // FULL commit syncs the log up to itself, this one included.
      const relaxed = durability === "relaxed" && wal;
      if (relaxed) guard(path, () => db.exec("PRAGMA synchronous = NORMAL"));
      depth++;
      try {
        guard(path, () => db.exec("BEGIN IMMEDIATE"));
        const result = body();
        guard(path, () => db.exec("COMMIT"));
        return result;
      } catch (error) {
        try {
          db.exec("ROLLBACK");
        } catch {
          // Already rolled back by SQLite (a full disk, an I/O error), or
          // never begun.
        }
        throw error;
      } finally {
        depth--;
        if (relaxed) guard(path, () => db.exec("PRAGMA synchronous = FULL"));
      }
    },
    close: () => db.close(),
  };
}

/** Runs `step`, turning SQLite's failures into one line naming the file. */
function guard<T>(path: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    throw unusable(path, error);
  }
}

/**
 * SQLite's words for a file that is not a sound database. Not "malformed"
 * alone: a JSON function says "malformed JSON" of its input.
 */
const DAMAGED =
  /not a database|disk image is malformed|malformed database schema|corrupt/i;

/** SQLite's error as one line naming the file and what to do. */
export function unusable(path: string, error: unknown): Error {
  const text = (error as Error).message;
  const fix = DAMAGED.test(text)
    ? "it is damaged or not an inbox: move it aside (the next start makes a new one) or restore a copy"
    : /readonly|read-only|permission|access/i.test(text)
    ? "it cannot be written: check its permissions and the disk"
    : /full|no space/i.test(text)
    ? "the disk is full: make room"
    : /disk I\/O error/i.test(text)
    ? "the disk is full, over a size limit or failing: make room or check it"
    : /locked|busy/i.test(text)
    ? "another process holds it: wait, or stop that process"
    : undefined;
  // A failure of a statement (a constraint, a bug) is not the file's fault.
  if (fix === undefined) return error as Error;
  return new InboxError(`the inbox ${path}: ${text}; ${fix}`, {
    cause: error,
  });
}
