// The inbox over any SQLite driver: messages kept once each, history and
// full-text search, each sink's position and dead letters, retention, and
// who receives into it. All SQL of the inbox is here, the same for every
// driver.

import type { Message } from "../mod.ts";
import { packBatch, unpackBatch } from "./_arrivals.ts";
import type { SqlDriver, SqlValue } from "./_driver.ts";
import { migrate } from "./_schema.ts";

/** A message as the inbox keeps it. */
export interface StoredMessage {
  /** Its place in the inbox: arrival order, which sinks and pages follow. */
  seq: number;
  /** The device it came to. */
  device: string;
  /** When it was stored here (ms since the epoch). */
  receivedAt: number;
  /** When it was acknowledged from here (ms), if it was. */
  acknowledgedAt?: number;
  /** When a person marked it read (ms), if they did. */
  readAt?: number;
  /** The message with every field as received (decrypted where the key did). */
  message: Message;
  /**
   * Set when a sink's `next()` gives it again after a `retry`: the sink set
   * it aside before, and someone asked for it explicitly.
   */
  redriven?: true;
}

/** Which messages a history query wants; every field narrows it. */
export interface HistoryQuery {
  /** Only this device's. */
  device?: string;
  /** Full-text search of title, body, app and URL title (every word). */
  text?: string;
  /** Only after this inbox position (a page's last `seq`). */
  afterSeq?: number;
  /** Only before this inbox position. */
  beforeSeq?: number;
  /** Only ids above this one (exact decimal string). */
  afterId?: string;
  /** Only ids below this one. */
  beforeId?: string;
  /** Only messages dated at or after this time (ms since the epoch). */
  since?: number;
  /** Only messages dated before this time (ms since the epoch). */
  until?: number;
  /** Only from this app. */
  app?: string;
  /** Only this priority and above. */
  minPriority?: number;
  /** Only messages nobody marked read. */
  unread?: boolean;
  /** Only messages a sink set aside (dead letters, and those re-driven since). */
  failed?: boolean;
  /** At most this many (100 unless given). */
  limit?: number;
  /** Newest first (the default), or oldest first. */
  order?: "newest" | "oldest";
}

/** A message a sink could not take: tried, then set aside. */
export interface DeadLetter {
  /** The sink that could not take it. */
  sink: string;
  /** The message's inbox position. */
  seq: number;
  /** Tries made (since it was last re-driven). */
  attempts: number;
  /** The last failure, as the sink reported it. */
  error: string;
  /** `dead`, or `retry` once re-driven and waiting for the sink. */
  state: "dead" | "retry";
  /** When it was set aside or re-driven (ms). */
  at: number;
}

/** Where a sink starts when it is new: after what is stored, or before. */
export type SinkStart = "end" | "beginning";

/** How long the inbox keeps messages: the first limit reached drops them. */
export interface Retention {
  /** Drop messages received longer ago than this (ms). */
  maxAge?: number;
  /** Keep at most this many messages (the newest). */
  maxCount?: number;
}

/** What {@linkcode Inbox.prune} did. */
export interface PruneResult {
  /** Messages dropped. */
  dropped: number;
  /** Messages past a limit but kept: a sink has not taken them yet. */
  held: number;
}

/** One sink's state, for status pages. */
export interface SinkState {
  /** The sink's name. */
  name: string;
  /** The last inbox position it took. */
  position: number;
  /** Stored messages after its position. */
  behind: number;
  /** Its dead letters, with those re-driven since. */
  dead: number;
  /** Of those, re-driven (`retry`) and waiting for the sink to take them. */
  redriven: number;
}

/** The inbox's counts, for `inbox status` and metrics. */
export interface InboxStats {
  /** Messages stored. */
  messages: number;
  /** When the oldest stored message arrived (ms). */
  oldest?: number;
  /** When the newest stored message arrived (ms). */
  newest?: number;
  /** The last position given out. */
  latest: number;
  /** Bytes of stored message JSON. */
  bytes: number;
  /** Each sink, by name. */
  sinks: SinkState[];
}

/** Who receives into an inbox. */
export interface Receiver {
  /** Its process id. */
  pid: number;
  /** The machine it runs on. */
  host: string;
  /** Since when (ms). */
  since: number;
}

interface Row {
  seq: number;
  device: string;
  received_at: number;
  acknowledged_at: number | null;
  read_at: number | null;
  json: string;
}

/**
 * The id as a key whose text order is its numeric order, for every 64-bit
 * id (20 digits, zero-padded). A longer id, which no server sends but the
 * library passes on exact, is kept too: one message the inbox refused would
 * stop its device's stream for good, the batch coming back on each start.
 */
function idKey(id: unknown): string {
  if (typeof id !== "string" || !/^\d+$/.test(id)) {
    throw new TypeError(`not a message id: ${JSON.stringify(id)}`);
  }
  const digits = id.replace(/^0+(?=\d)/, "");
  if (digits.length <= 20) return digits.padStart(20, "0");
  // After every 64-bit key (':' sorts after the digits), by length, then
  // digit by digit: numeric order still.
  return `:${String(digits.length).padStart(4, "0")}${digits}`;
}

/**
 * A message's field as its text column takes it, whatever the server sent:
 * a field left out is `missing`, one that is not text its JSON. Never
 * refused (see idKey); the message's JSON keeps the field as it came.
 */
function text(value: unknown, missing: string | null): string | null {
  if (value === undefined || value === null) return missing;
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A field as its number column takes it: 0 unless it is a number. */
function number(value: unknown): number {
  const parsed = typeof value === "number" || typeof value === "string"
    ? Number(value)
    : NaN;
  return Number.isFinite(parsed) ? parsed : 0;
}

/** Words of `text` as an FTS5 query matching all of them, quoted. */
function ftsQuery(text: string): string | undefined {
  const words = text.match(/[\p{L}\p{N}_]+/gu);
  return words?.map((word) => `"${word}"`).join(" ");
}

function stored(row: Row): StoredMessage {
  const message: StoredMessage = {
    seq: row.seq,
    device: row.device,
    receivedAt: row.received_at,
    message: JSON.parse(row.json),
  };
  if (row.acknowledged_at !== null) {
    message.acknowledgedAt = row.acknowledged_at;
  }
  if (row.read_at !== null) message.readAt = row.read_at;
  return message;
}

const COLUMNS = "seq, device, received_at, acknowledged_at, read_at, json";

/**
 * Messages an `arrivals` row holds at most: a large batch is kept as several
 * rows, in the one transaction. Binding one text of megabytes took Bun's
 * SQLite twice as long as the same text in rows of this size (10,000
 * messages: 63–84 ms against 25–50 ms), and the others no less.
 */
const ARRIVAL_ROW = 250;

/** Waits (ms) before a failed filing is tried again: doubling, from min to max. */
const FILING_RETRY = { min: 1_000, max: 60_000 };

/** A delivery a sink set aside: a dead letter, or one re-driven since. */
const SET_ASIDE = "state != 'trying'";

/**
 * The inbox: messages kept once each by (device, id), in arrival order;
 * history and search over them; each sink's position and dead letters.
 * Open one on a file with `openInbox()`; this class takes any
 * {@linkcode SqlDriver} (a Durable Object's storage, a test's).
 *
 * @example A sink that takes what arrives, at its own pace
 * ```ts
 * import { Inbox, openSqliteFile } from "@openpush/pushover-open-client/inbox";
 * import type { Message } from "@openpush/pushover-open-client";
 *
 * const inbox = new Inbox(await openSqliteFile(":memory:"));
 * const printer = inbox.sink("printer"); // starts after what is stored
 * const alert = { id: 7, id_str: "7", umid: 9, umid_str: "9", aid: 1, aid_str: "1",
 *   app: "Smoke", icon: "smoke", date: 1_700_000_000, priority: 2, acked: 0,
 *   receipt: "r7", message: "Smoke in the kitchen" } as Message;
 * inbox.add("my-device-id", [alert]);
 * for (const stored of printer.next()) {
 *   console.log(stored.message.message); // "Smoke in the kitchen"
 *   printer.done(stored.seq); // not given again, even after a restart
 * }
 * console.log(inbox.pending().length); // 1: an emergency not acknowledged
 * inbox.close();
 * ```
 */
export class Inbox {
  /** The database, each statement filing what was accepted first. */
  readonly #db: SqlDriver;
  /** The database itself, for accepting and filing. */
  readonly #raw: SqlDriver;
  readonly #now: () => number;
  readonly #filingRetry: { min: number; max: number };
  readonly #listeners = new Set<(added: number) => void>();
  #indexTimer: ReturnType<typeof setTimeout> | undefined;
  #fileTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whether the last filing failed (it is tried again: #fileSoon). */
  #filingFailed = false;
  /**
   * What may wait in `arrivals` for this object to file: what a receiver
   * that died between its accept and the filing left (looked for on
   * opening), or what accept() here committed.
   */
  #toFile: "nothing" | "left over" | "accepted" = "left over";
  #closed = false;

  /**
   * An inbox on `driver`'s database.
   *
   * @param driver The database, migrated to this version on the way in.
   * @param now The clock times are stored on (ms; injectable for tests).
   * @param filingRetry The waits (ms) before a failed filing is tried
   *   again, doubling from `min` to `max` (injectable for tests).
   * @throws {RangeError} `filingRetry` is not 1 ≤ min ≤ max ms.
   */
  constructor(
    driver: SqlDriver,
    now: () => number = Date.now,
    filingRetry: { min: number; max: number } = FILING_RETRY,
  ) {
    const { min, max } = filingRetry;
    if (!(min >= 1 && max >= min && max <= 2 ** 31 - 1)) {
      throw new RangeError(
        `Inbox: 'filingRetry' must be { min, max } in ms with 1 ≤ min ≤ max ≤ 2147483647: current values are ${min} and ${max}`,
      );
    }
    this.#raw = driver;
    this.#now = now;
    this.#filingRetry = filingRetry;
    migrate(driver);
    // Every read and write of messages goes through here, so that none
    // sees the inbox without a batch accept() has already committed.
    const filed = () => this.#fileAccepted();
    this.#db = {
      run(sql, ...params) {
        filed();
        return driver.run(sql, ...params);
      },
      all<T>(sql: string, ...params: SqlValue[]) {
        filed();
        return driver.all<T>(sql, ...params);
      },
      transaction(body, durability) {
        filed();
        return driver.transaction(body, durability);
      },
      close: () => driver.close(),
    };
  }

  /**
   * Keeps `messages` of `device` in one transaction: each once, however
   * often it comes (a re-delivery after a crash adds nothing). Resolves to
   * how many were new. Once it returns, they are on disk: the stream may
   * count them handled, and the server delete them.
   */
  add(device: string, messages: readonly Message[]): number {
    const at = this.#now();
    const added = this.#db.transaction(() =>
      this.#insert(device, at, messages)
    );
    if (added > 0) this.#changed(added);
    return added;
  }

  /**
   * Keeps `messages` of `device` as {@linkcode Inbox.add} does, committed
   * before it returns, in one transaction: the batch as it came, a row per
   * 250 messages. Each message is filed (given its place, kept once by id)
   * once the current task is over, or at the next read through this
   * object, whichever comes first; or, after a crash, by the next process
   * that opens the inbox. What a receiver calls: the commit the server's
   * delete waits for then costs a row per 250 messages, not a row and its
   * index entries per message. Fields are kept whatever their type (a title
   * that is an object is searched as its JSON); only the id is checked.
   *
   * @throws {TypeError} A message's id is not a decimal id (nothing kept).
   * @throws {InboxError} The commit failed — or the filing of an earlier
   *   batch failed and fails again (a full disk): nothing of this batch is
   *   kept, and the receiver stops with it, the batch still on the server.
   */
  accept(device: string, messages: readonly Message[]): void {
    if (messages.length === 0) return;
    // Each id refused now, not when filed (as it is kept: a getter JSON
    // leaves out does not count): a batch that could never be filed would
    // stop every later one behind it.
    const packed: string[] = [];
    for (let i = 0; i < messages.length; i += ARRIVAL_ROW) {
      packed.push(packBatch(messages.slice(i, i + ARRIVAL_ROW), idKey));
    }
    // A filing that failed is not left behind the receiver's back: tried
    // again here, it stops the receiver with its error if it fails again.
    if (this.#filingFailed) this.#fileAccepted();
    const at = this.#now();
    this.#raw.transaction(() => {
      for (const batch of packed) {
        this.#raw.run(
          `INSERT INTO arrivals (device, received_at, batch) VALUES (?, ?, ?)`,
          device,
          at,
          batch,
        );
      }
    });
    this.#toFile = "accepted";
    this.#fileSoon(0);
  }

  /**
   * Files what was accepted after `delay` ms, in place of a filing set
   * before (a batch accepted now is not kept waiting for a retry's delay).
   * One that fails is tried again, waiting twice as long each time up to a
   * minute: the sinks get the batch without waiting for the next.
   */
  #fileSoon(delay: number): void {
    clearTimeout(this.#fileTimer);
    this.#fileTimer = setTimeout(() => {
      try {
        this.#fileAccepted();
      } catch {
        // A busy or full disk: again later, and at the next accept.
        const { min, max } = this.#filingRetry;
        this.#fileSoon(Math.min(Math.max(2 * delay, min), max));
      }
    }, delay);
  }

  /**
   * Files the accepted batches, in the order accepted, each message once,
   * in one transaction with their removal from `arrivals`. Not synced on
   * its own: lost to a power cut, the batches are still there to file.
   */
  #fileAccepted(): void {
    if (this.#toFile === "nothing") return;
    this.#filingFailed = true; // until it is done
    const added = this.#raw.transaction(() => {
      const batches = this.#raw.all<
        { id: number; device: string; received_at: number; batch: string }
      >(`SELECT id, device, received_at, batch FROM arrivals ORDER BY id`);
      let count = 0;
      for (const { device, received_at, batch } of batches) {
        count += this.#insert(device, received_at, unpackBatch(batch));
      }
      const last = batches.at(-1);
      if (last) this.#raw.run(`DELETE FROM arrivals WHERE id <= ?`, last.id);
      return count;
    }, "relaxed");
    this.#filingFailed = false;
    const acceptedHere = this.#toFile === "accepted";
    this.#toFile = "nothing"; // before the listeners, who may read
    // Told even when another process (a `history` opening the inbox) filed
    // this object's batch first: its sinks are waiting for it.
    if (acceptedHere || added > 0) this.#changed(added);
    if (added > 0) this.indexSoon();
  }

  /** Inserts the messages not kept yet, in a transaction begun; how many. */
  #insert(device: string, at: number, messages: readonly Message[]): number {
    let count = 0;
    for (const message of messages) {
      const key = idKey(message.id_str);
      // Looked up first, then inserted: an INSERT that conflicts would
      // still use up a seq (positions without gaps read better), and
      // INSERT … SELECT … WHERE NOT EXISTS takes twice as long as both.
      const known = this.#raw.all(
        `SELECT 1 AS known FROM messages WHERE device = ? AND key = ?`,
        device,
        key,
      );
      if (known.length > 0) continue;
      count += this.#raw.run(
        `INSERT INTO messages (device, key, umid, received_at, date, app,
           priority, title, body, url_title, receipt, e2ee, json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        device,
        key,
        text(message.umid_str, ""),
        at,
        number(message.date),
        text(message.app, ""),
        number(message.priority),
        text(message.title, null),
        text(message.message, ""),
        text(message.url_title, null),
        text(message.receipt, null),
        text(message.e2ee, null),
        JSON.stringify(message),
      );
    }
    return count;
  }

  /** The messages a query wants, newest first unless asked otherwise. */
  history(query: HistoryQuery = {}): StoredMessage[] {
    const filter = this.#filter(query);
    if (!filter) return [];
    const order = query.order === "oldest" ? "ASC" : "DESC";
    const rows = this.#db.all<Row>(
      `SELECT ${COLUMNS} FROM messages WHERE ${filter.where}
       ORDER BY seq ${order} LIMIT ?`,
      ...filter.params,
      query.limit ?? 100,
    );
    return rows.map(stored);
  }

  /**
   * The condition a query's filters make, and its values; undefined when
   * nothing can match (a search for punctuation alone).
   */
  #filter(
    query: HistoryQuery,
  ): { where: string; params: SqlValue[] } | undefined {
    // "1" (true) first: a query without filters is still a condition.
    const where: string[] = ["1"];
    const params: SqlValue[] = [];
    const add = (clause: string, ...values: SqlValue[]) => {
      where.push(clause);
      params.push(...values);
    };
    if (query.device !== undefined) add("device = ?", query.device);
    if (query.text !== undefined) {
      const match = ftsQuery(query.text);
      // Nothing to search for (only punctuation) matches nothing.
      if (match === undefined) return undefined;
      this.index();
      add(
        "seq IN (SELECT rowid FROM messages_text WHERE messages_text MATCH ?)",
        match,
      );
    }
    if (query.afterSeq !== undefined) add("seq > ?", query.afterSeq);
    if (query.beforeSeq !== undefined) add("seq < ?", query.beforeSeq);
    if (query.afterId !== undefined) add("key > ?", idKey(query.afterId));
    if (query.beforeId !== undefined) add("key < ?", idKey(query.beforeId));
    if (query.since !== undefined) add("date * 1000 >= ?", query.since);
    if (query.until !== undefined) add("date * 1000 < ?", query.until);
    if (query.app !== undefined) add("app = ?", query.app);
    if (query.minPriority !== undefined) {
      add("priority >= ?", query.minPriority);
    }
    if (query.unread) add("read_at IS NULL");
    if (query.failed) {
      add(`seq IN (SELECT seq FROM deliveries WHERE ${SET_ASIDE})`);
    }
    return { where: where.join(" AND "), params };
  }

  /**
   * Adds what arrived since the last call to the text index; how many. A
   * search does it first, so it always sees everything; a receiver calls it
   * after each commit, off the path the server's delete waits on.
   */
  index(): number {
    return this.#db.transaction(() => {
      const [{ indexed }] = this.#db.all<{ indexed: number }>(
        `SELECT CAST(value AS INTEGER) AS indexed FROM meta WHERE name = 'indexed'`,
      );
      const latest = this.latest();
      if (latest <= indexed) return 0;
      const count = this.#db.run(
        `INSERT INTO messages_text (rowid, title, body, app, url_title)
         SELECT seq, title, body, app, url_title FROM messages WHERE seq > ?`,
        indexed,
      );
      this.#db.run(
        `UPDATE meta SET value = ? WHERE name = 'indexed'`,
        String(latest),
      );
      return count;
    });
  }

  /**
   * Indexes what arrived once the current task is over (several calls, one
   * run): what a receiver calls after each commit. A failure here is left
   * to the next search, which indexes first.
   */
  indexSoon(): void {
    if (this.#indexTimer !== undefined || this.#closed) return;
    this.#indexTimer = setTimeout(() => {
      this.#indexTimer = undefined;
      try {
        this.index();
      } catch {
        // A full disk, say: the next search indexes, or reports it.
      }
    }, 0);
  }

  /** One stored message by position, or undefined. */
  get(seq: number): StoredMessage | undefined {
    const [row] = this.#db.all<Row>(
      `SELECT ${COLUMNS} FROM messages WHERE seq = ?`,
      seq,
    );
    return row && stored(row);
  }

  /**
   * Emergencies not acknowledged yet (from here, or when received), oldest
   * first: what `pending` lists and `ack --all` acknowledges.
   */
  pending(device?: string): StoredMessage[] {
    const rows = this.#db.all<Row>(
      `SELECT ${COLUMNS} FROM messages
       WHERE priority = 2 AND receipt IS NOT NULL AND receipt != ''
         AND acknowledged_at IS NULL
         AND coalesce(json_extract(json, '$.acked'), 0) != 1
         ${device === undefined ? "" : "AND device = ?"}
       ORDER BY seq ASC`,
      ...(device === undefined ? [] : [device]),
    );
    return rows.map(stored);
  }

  /** Marks the emergency with `receipt` acknowledged; how many it marked. */
  acknowledged(receipt: string): number {
    return this.#db.run(
      `UPDATE messages SET acknowledged_at = ?
       WHERE receipt = ? AND acknowledged_at IS NULL`,
      this.#now(),
      receipt,
    );
  }

  /**
   * Marks messages read: those at `seqs`, and every one up to `through` (a
   * page's newest) — with `matching`, only those of them its filters let
   * through (a page showing a search marks what it shows). Resolves to how
   * many it marked.
   */
  markRead(
    { seqs, through, matching }: {
      seqs?: number[];
      through?: number;
      matching?: Omit<HistoryQuery, "limit" | "order">;
    },
  ): number {
    // Before the transaction: a search indexes what is new first.
    const filter = this.#filter(matching ?? {});
    return this.#db.transaction(() => {
      const at = this.#now();
      let marked = 0;
      for (const seq of seqs ?? []) {
        marked += this.#db.run(
          `UPDATE messages SET read_at = ? WHERE seq = ? AND read_at IS NULL`,
          at,
          seq,
        );
      }
      if (through !== undefined && filter) {
        marked += this.#db.run(
          `UPDATE messages SET read_at = ?
           WHERE seq <= ? AND read_at IS NULL AND ${filter.where}`,
          at,
          through,
          ...filter.params,
        );
      }
      return marked;
    });
  }

  /** The apps messages came from, by name. */
  apps(): string[] {
    return this.#db.all<{ app: string }>(
      `SELECT DISTINCT app FROM messages ORDER BY app`,
    ).map((row) => row.app);
  }

  /** How many messages nobody marked read. */
  unreadCount(): number {
    const [{ unread }] = this.#db.all<{ unread: number }>(
      `SELECT count(*) AS unread FROM messages WHERE read_at IS NULL`,
    );
    return unread;
  }

  /** The last position given out (0 when empty). */
  latest(): number {
    const [row] = this.#db.all<{ latest: number | null }>(
      `SELECT max(seq) AS latest FROM messages`,
    );
    return row?.latest ?? 0;
  }

  /**
   * Calls `listener` after each `add()` (or filing of what `accept()` kept)
   * through this object that kept something, with how many messages were
   * new, and after each `retry()` that re-drove something, with 0; returns
   * the way to stop. (Another process's adds are seen by polling
   * {@linkcode Inbox.latest}.)
   */
  onAdded(listener: (added: number) => void): () => void {
    const entry = (added: number) => listener(added);
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /**
   * The sink `name`'s cursor, made on first use: a new sink starts after
   * what is stored (`end`, the default) or before all of it.
   */
  sink(name: string, start: SinkStart = "end"): SinkCursor {
    this.#db.run(
      `INSERT INTO sinks (name, position)
       VALUES (?, ${
        start === "end" ? "(SELECT coalesce(max(seq), 0) FROM messages)" : "0"
      })
       ON CONFLICT (name) DO NOTHING`,
      name,
    );
    return new SinkCursor(this.#db, name, this.#now);
  }

  /**
   * Forgets the sink `name`: its position and its dead letters. For a sink
   * that no longer runs: kept, it would hold every later message past
   * retention, and hand them all over if it ever ran again. Says what it
   * had not taken; made again, it starts after what is stored then.
   */
  forgetSink(name: string): { behind: number; dead: number } {
    return this.#db.transaction(() => {
      const [{ behind, dead }] = this.#db.all<{ behind: number; dead: number }>(
        `SELECT
           (SELECT count(*) FROM messages
            WHERE seq > (SELECT position FROM sinks WHERE name = ?)) AS behind,
           (SELECT count(*) FROM deliveries
            WHERE sink = ? AND ${SET_ASIDE}) AS dead`,
        name,
        name,
      );
      this.#db.run(`DELETE FROM deliveries WHERE sink = ?`, name);
      this.#db.run(`DELETE FROM sinks WHERE name = ?`, name);
      return { behind, dead };
    });
  }

  /** Dead letters (and re-driven ones), of one sink or all, oldest first. */
  deadLetters(sink?: string): DeadLetter[] {
    return this.#db.all<DeadLetter>(
      `SELECT sink, seq, attempts, last_error AS error, state, updated_at AS at
       FROM deliveries WHERE ${SET_ASIDE}
       ${sink === undefined ? "" : "AND sink = ?"}
       ORDER BY seq ASC, sink ASC`,
      ...(sink === undefined ? [] : [sink]),
    );
  }

  /**
   * Re-drives dead letters: the sink's next read gets them first, before
   * what follows its position (a running `runSink()` reads next when the
   * page of up to 100 in hand is done). One (`seq`) or all of the sink's;
   * how many.
   */
  retry(sink: string, seq?: number): number {
    const count = this.#db.run(
      `UPDATE deliveries SET state = 'retry', attempts = 0, updated_at = ?
       WHERE sink = ? AND state = 'dead' ${
        seq === undefined ? "" : "AND seq = ?"
      }`,
      this.#now(),
      sink,
      ...(seq === undefined ? [] : [seq]),
    );
    if (count > 0) this.#changed(0);
    return count;
  }

  /**
   * Tells this process's waiting sinks that there is more to read: `added`
   * new messages (0: dead letters re-driven).
   */
  #changed(added: number): void {
    for (const listener of [...this.#listeners]) listener(added);
  }

  /**
   * Drops what `retention` no longer keeps — but never a message a sink
   * has not taken yet, nor a dead letter's: those are counted as `held`.
   */
  prune(retention: Retention): PruneResult {
    const over = this.#overLimits(retention);
    if (over === undefined) return { dropped: 0, held: 0 };
    const { where, params } = over;
    return this.#db.transaction(() => {
      const taken = `seq <= (SELECT coalesce(min(position), 9e18) FROM sinks)
        AND seq NOT IN (SELECT seq FROM deliveries)`;
      const [{ held }] = this.#db.all<{ held: number }>(
        `SELECT count(*) AS held FROM messages WHERE ${where} AND NOT (${taken})`,
        ...params,
      );
      const dropped = this.#db.run(
        `DELETE FROM messages WHERE ${where} AND ${taken}`,
        ...params,
      );
      return { dropped, held };
    });
  }

  /**
   * The messages past a limit, as a WHERE clause and its values, or
   * undefined when no limit is set. The values are bound, never written into
   * the SQL: the driver keeps each distinct text prepared, and a cutoff that
   * moves with the clock would add two statements at every prune, for as
   * long as a listener runs.
   */
  #overLimits(
    retention: Retention,
  ): { where: string; params: SqlValue[] } | undefined {
    const clauses: string[] = [];
    const params: SqlValue[] = [];
    const { maxAge, maxCount } = retention;
    for (const [name, value] of Object.entries({ maxAge, maxCount })) {
      if (value !== undefined && !(value >= 0)) {
        throw new RangeError(
          `retention: ${name} must be a number ≥ 0 (Infinity keeps all), not ${value}`,
        );
      }
    }
    if (maxAge !== undefined && maxAge !== Infinity) {
      clauses.push("received_at < ?");
      params.push(Math.floor(this.#now() - maxAge));
    }
    if (maxCount !== undefined && maxCount !== Infinity) {
      clauses.push(
        "seq NOT IN (SELECT seq FROM messages ORDER BY seq DESC LIMIT ?)",
      );
      params.push(Math.floor(maxCount));
    }
    return clauses.length
      ? { where: `(${clauses.join(" OR ")})`, params }
      : undefined;
  }

  /** Counts for a status page. */
  stats(): InboxStats {
    const [row] = this.#db.all<{
      messages: number;
      oldest: number | null;
      newest: number | null;
      latest: number | null;
      bytes: number | null;
    }>(
      `SELECT count(*) AS messages, min(received_at) AS oldest,
         max(received_at) AS newest, max(seq) AS latest,
         sum(length(json)) AS bytes FROM messages`,
    );
    const sinks = this.#db.all<SinkState>(
      `SELECT name, position,
         (SELECT count(*) FROM messages WHERE seq > s.position) AS behind,
         (SELECT count(*) FROM deliveries d
           WHERE d.sink = s.name AND d.${SET_ASIDE}) AS dead,
         (SELECT count(*) FROM deliveries d
           WHERE d.sink = s.name AND d.state = 'retry') AS redriven
       FROM sinks s ORDER BY name`,
    );
    const stats: InboxStats = {
      messages: row.messages,
      latest: row.latest ?? 0,
      bytes: row.bytes ?? 0,
      sinks,
    };
    if (row.oldest !== null) stats.oldest = row.oldest;
    if (row.newest !== null) stats.newest = row.newest;
    return stats;
  }

  /**
   * Claims the inbox for receiving as `me`; another receiver that still
   * runs (`alive`) keeps it, and is returned. One writer per inbox: two
   * would each take messages the other then deletes on the server.
   */
  claim(
    me: Receiver,
    alive: (holder: Receiver) => boolean,
  ): Receiver | undefined {
    return this.#db.transaction(() => {
      const [holder] = this.#db.all<Receiver>(
        `SELECT pid, host, since FROM receiver`,
      );
      const mine = holder?.pid === me.pid && holder.host === me.host;
      if (holder && !mine && alive(holder)) return holder;
      this.#db.run(
        `INSERT INTO receiver (only, pid, host, since) VALUES (1, ?, ?, ?)
         ON CONFLICT (only) DO UPDATE SET pid = excluded.pid,
           host = excluded.host, since = excluded.since`,
        me.pid,
        me.host,
        me.since,
      );
      return undefined;
    });
  }

  /** Gives the inbox up, if `me` holds it. */
  release(me: Pick<Receiver, "pid" | "host">): void {
    this.#db.run(
      `DELETE FROM receiver WHERE pid = ? AND host = ?`,
      me.pid,
      me.host,
    );
  }

  /** Files what was accepted, and closes the database. */
  close(): void {
    try {
      this.#fileAccepted();
    } catch {
      // Still in `arrivals`, committed: the next to open the inbox files it.
    }
    this.#closed = true;
    clearTimeout(this.#indexTimer);
    clearTimeout(this.#fileTimer);
    this.#listeners.clear();
    this.#db.close();
  }
}

/** What a sink's failed delivery came to. */
export type FailureOutcome = "retry" | "dead";

/**
 * One sink's way through the inbox: what it has not taken yet, in order
 * (re-driven dead letters first), and where it got to. At least once: a
 * message is taken when the sink says `done`, so a crash before that hands
 * it over again.
 */
export class SinkCursor {
  readonly #db: SqlDriver;
  readonly #now: () => number;
  /** The sink's name. */
  readonly name: string;

  /** Made by {@linkcode Inbox.sink}, which also makes the sink's row. */
  constructor(db: SqlDriver, name: string, now: () => number) {
    this.#db = db;
    this.name = name;
    this.#now = now;
  }

  /** The last inbox position this sink took. */
  get position(): number {
    const [row] = this.#db.all<{ position: number }>(
      `SELECT position FROM sinks WHERE name = ?`,
      this.name,
    );
    return row?.position ?? 0;
  }

  /**
   * Up to `limit` messages for this sink: re-driven dead letters first,
   * then what follows its position, in order.
   */
  next(limit = 100): StoredMessage[] {
    // Two reads, each along an index. One ordered UNION of both sorted
    // every message after the position on each call: a sink working through
    // a backlog of 10,000 took half a minute.
    const redriven = this.#db.all<Row>(
      `SELECT ${COLUMNS} FROM messages
       WHERE seq IN (SELECT seq FROM deliveries
                     WHERE sink = ? AND state = 'retry')
       ORDER BY seq LIMIT ?`,
      this.name,
      limit,
    );
    const following = this.#db.all<Row>(
      `SELECT ${COLUMNS} FROM messages
       WHERE seq > (SELECT position FROM sinks WHERE name = ?)
       ORDER BY seq LIMIT ?`,
      this.name,
      limit - redriven.length,
    );
    return [
      ...redriven.map((row) => ({ ...stored(row), redriven: true as const })),
      ...following.map(stored),
    ];
  }

  /** Moves the sink's position up to `seq` (never back: a re-drive is behind it). */
  #moveTo(seq: number): void {
    this.#db.run(
      `UPDATE sinks SET position = max(position, ?) WHERE name = ?`,
      seq,
      this.name,
    );
  }

  /**
   * The sink took the messages at `seqs`: it never gets them again — unless
   * the machine loses power before the inbox's next synced commit (the next
   * batch received): the position is not synced on its own, which would
   * cost a sink ~0.3 ms a commit, and a sink that falls back re-delivers.
   */
  done(...seqs: number[]): void {
    if (seqs.length === 0) return;
    this.#db.transaction(() => {
      for (const seq of seqs) {
        this.#db.run(
          `DELETE FROM deliveries WHERE sink = ? AND seq = ?`,
          this.name,
          seq,
        );
      }
      this.#moveTo(Math.max(...seqs));
    }, "relaxed");
  }

  /**
   * The sink could not take the message at `seq`: one more attempt is
   * counted. It is set aside as a dead letter — and the sink moves past it —
   * when `permanent`, or once `maxAttempts` were made; otherwise the sink
   * tries it again (it stays first in line).
   */
  failed(
    seq: number,
    error: string,
    { permanent = false, maxAttempts = Infinity } = {},
  ): FailureOutcome {
    return this.#db.transaction(() => {
      const at = this.#now();
      this.#db.run(
        `INSERT INTO deliveries (sink, seq, attempts, last_error, state, updated_at)
         VALUES (?, ?, 1, ?, 'trying', ?)
         ON CONFLICT (sink, seq) DO UPDATE SET attempts = attempts + 1,
           last_error = excluded.last_error, updated_at = excluded.updated_at,
           state = CASE WHEN state = 'retry' THEN 'retry' ELSE 'trying' END`,
        this.name,
        seq,
        error,
        at,
      );
      const [{ attempts }] = this.#db.all<{ attempts: number }>(
        `SELECT attempts FROM deliveries WHERE sink = ? AND seq = ?`,
        this.name,
        seq,
      );
      if (!permanent && attempts < maxAttempts) return "retry";
      this.#db.run(
        `UPDATE deliveries SET state = 'dead' WHERE sink = ? AND seq = ?`,
        this.name,
        seq,
      );
      this.#moveTo(seq);
      return "dead";
    });
  }
}
