// The inbox's tables, as numbered migrations: a database records the last
// one it ran, and opening it runs the rest in one transaction. A migration
// is never edited once released; a change is a new one.

import type { SqlDriver } from "./_driver.ts";

/** Each migration: statements run in order, in one transaction. */
const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    // seq: arrival order, which sinks and history page by. key: the id
    // padded to 20 digits, so that text order is the 64-bit id's order and
    // every driver binds it as text.
    `CREATE TABLE messages (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      device TEXT NOT NULL,
      key TEXT NOT NULL,
      umid TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      date INTEGER NOT NULL,
      app TEXT NOT NULL,
      priority INTEGER NOT NULL,
      title TEXT,
      body TEXT NOT NULL,
      url_title TEXT,
      receipt TEXT,
      acknowledged_at INTEGER,
      e2ee TEXT,
      json TEXT NOT NULL,
      UNIQUE (device, key)
    )`,
    `CREATE INDEX messages_received ON messages (received_at)`,
    `CREATE INDEX messages_receipt ON messages (receipt) WHERE receipt IS NOT NULL`,
    `CREATE VIRTUAL TABLE messages_text USING fts5(
      title, body, app, url_title,
      content = 'messages', content_rowid = 'seq',
      tokenize = 'unicode61 remove_diacritics 2'
    )`,
    // The text index is filled after the commit that keeps a message, not
    // in it (Inbox.index): indexing costs twice the insert, and receiving —
    // the commit the server's delete waits for — should not pay for it.
    // 'indexed' in meta is the last seq in the index; only rows up to it
    // may be taken out of it (an external-content index must be told the
    // exact text it holds).
    `INSERT INTO meta (name, value) VALUES ('indexed', '0')`,
    `CREATE TRIGGER messages_text_drop AFTER DELETE ON messages
     WHEN old.seq <= (SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'indexed')
     BEGIN
      INSERT INTO messages_text (messages_text, rowid, title, body, app, url_title)
      VALUES ('delete', old.seq, old.title, old.body, old.app, old.url_title);
    END`,
    `CREATE TRIGGER messages_text_change AFTER UPDATE OF title, body, app, url_title ON messages
     WHEN old.seq <= (SELECT CAST(value AS INTEGER) FROM meta WHERE name = 'indexed')
     BEGIN
      INSERT INTO messages_text (messages_text, rowid, title, body, app, url_title)
      VALUES ('delete', old.seq, old.title, old.body, old.app, old.url_title);
      INSERT INTO messages_text (rowid, title, body, app, url_title)
      VALUES (new.seq, new.title, new.body, new.app, new.url_title);
    END`,
    // Each sink's position: the last seq it took (or skipped as dead).
    `CREATE TABLE sinks (name TEXT PRIMARY KEY, position INTEGER NOT NULL)`,
    // Tries of the message a sink is stuck on, and its dead letters
    // (state 'dead'; 'retry' once re-driven).
    `CREATE TABLE deliveries (
      sink TEXT NOT NULL,
      seq INTEGER NOT NULL,
      attempts INTEGER NOT NULL,
      last_error TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('trying', 'dead', 'retry')),
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (sink, seq)
    )`,
    // Who receives into this inbox: one writer (pid on this host).
    `CREATE TABLE receiver (
      only INTEGER PRIMARY KEY CHECK (only = 1),
      pid INTEGER NOT NULL,
      host TEXT NOT NULL,
      since INTEGER NOT NULL
    )`,
  ],
  // 2: what a person has seen (the web page's unread count, mark read).
  [
    `ALTER TABLE messages ADD COLUMN read_at INTEGER`,
    `CREATE INDEX messages_unread ON messages (seq) WHERE read_at IS NULL`,
  ],
  // 3: batches committed as they came (Inbox.accept), each until it is
  // filed into messages: receiving commits a row per 250 messages of a
  // batch, not a row and four index entries a message, before the server's
  // delete.
  [
    `CREATE TABLE arrivals (
      id INTEGER PRIMARY KEY,
      device TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      batch TEXT NOT NULL
    )`,
  ],
  // 4: no table changes: `arrivals` rows hold packed batches
  // (inbox/_arrivals.ts), which versions before it cannot file. The number
  // alone makes such a version refuse the file (upgrade), not fail on it.
  [],
];

/** The schema version this code writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/**
 * Brings `driver`'s database to {@linkcode SCHEMA_VERSION}; throws when it
 * was written by a newer version (whose tables this code would misread).
 */
export function migrate(driver: SqlDriver): void {
  driver.transaction(() => {
    driver.run(
      `CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    );
    const [row] = driver.all<{ value: string }>(
      `SELECT value FROM meta WHERE name = 'schema'`,
    );
    const current = row ? Number(row.value) : 0;
    if (current > SCHEMA_VERSION) {
      throw new RangeError(
        `the inbox was written by a newer version (schema ${current}; this one knows ${SCHEMA_VERSION}): upgrade pushover-open-client`,
      );
    }
    for (let version = current; version < SCHEMA_VERSION; version++) {
      for (const statement of MIGRATIONS[version]) {
        // The first migration's meta table exists already (made above).
        if (statement.startsWith("CREATE TABLE meta")) continue;
        driver.run(statement);
      }
    }
    driver.run(
      `INSERT INTO meta (name, value) VALUES ('schema', ?)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
      String(SCHEMA_VERSION),
    );
  });
}
