// The inbox's contract: what any storage driver must give it. Every driver
// runs this same suite — node:sqlite on Deno, Bun and Node here; a Durable
// Object's SQL in its own row — so that the inbox behaves alike on each.

import assert from "node:assert/strict";
import type { Message } from "../mod.ts";
import type { SqlDriver } from "../inbox/_driver.ts";
import { Inbox } from "../inbox/store.ts";

/** A message as a download gives it; `fields` override the defaults. */
export function message(id: number | string, fields: Partial<Message> = {}) {
  const id_str = String(id);
  return {
    id: Number(id_str),
    id_str,
    umid: Number(id_str) + 1000,
    umid_str: String(Number(id_str) + 1000),
    message: `message ${id_str}`,
    app: "Tests",
    aid: 7,
    aid_str: "7",
    icon: "tests",
    date: 1_700_000_000 + Number(id_str),
    priority: 0,
    acked: 0,
    ...fields,
  } as Message;
}

/** Bodies of stored messages, for compact assertions. */
const bodies = (list: { message: Message }[]) =>
  list.map(({ message }) => message.message);

/** How a case is declared: node:test's `test`, or a collector elsewhere. */
export type DefineTest = (
  name: string,
  body: () => Promise<void>,
) => unknown;

/**
 * Runs the contract against drivers `open` makes: a fresh, empty database
 * each call. `define` declares each case: node:test's `test` here; a
 * Durable Object collects them and runs each inside workerd.
 */
export function inboxContract(
  driverName: string,
  open: () => Promise<SqlDriver>,
  define: DefineTest,
): void {
  /** A test with a fresh inbox on a clock the test moves. */
  function inboxTest(
    name: string,
    body: (inbox: Inbox, clock: { now: number }) => void | Promise<void>,
  ) {
    define(`inbox on ${driverName}: ${name}`, async () => {
      const clock = { now: 1_000_000 };
      const inbox = new Inbox(await open(), () => clock.now);
      try {
        await body(inbox, clock);
      } finally {
        inbox.close();
      }
    });
  }

  inboxTest(
    "keeps each message once by device and id, however often it comes",
    (inbox) => {
      assert.equal(inbox.add("d1", [message(1), message(2)]), 2);
      assert.equal(inbox.add("d1", [message(2), message(3)]), 1);
      assert.equal(inbox.add("d2", [message(1)]), 1, "another device's id 1");
      assert.deepEqual(bodies(inbox.history({ order: "oldest" })), [
        "message 1",
        "message 2",
        "message 3",
        "message 1",
      ]);
      assert.deepEqual(
        inbox.history().map((stored) => stored.seq),
        [4, 3, 2, 1],
        "newest first by default",
      );
    },
  );

  inboxTest(
    "accept() commits a batch at once and files it before any read sees the inbox, each message once, in arrival order",
    (inbox, clock) => {
      const heard: number[] = [];
      inbox.onAdded((added) => heard.push(added));
      inbox.accept("d1", []);
      assert.deepEqual(inbox.history(), []);
      assert.deepEqual(heard, [], "an empty batch is nothing to file");
      inbox.accept("d1", [message(1), message(2)]);
      clock.now += 5;
      inbox.accept("d1", [message(2), message(3)]); // a re-delivery
      assert.deepEqual(heard, [], "filed later, not on the receiving path");
      assert.equal(inbox.add("d1", [message(4)]), 1, "after what was accepted");
      assert.deepEqual(heard, [3, 1]);
      const stored = inbox.history({ order: "oldest" });
      assert.deepEqual(bodies(stored), [1, 2, 3, 4].map((i) => `message ${i}`));
      assert.deepEqual(stored.map((s) => s.seq), [1, 2, 3, 4]);
      assert.deepEqual(
        stored.map((s) => s.receivedAt),
        [1_000_000, 1_000_000, 1_000_005, 1_000_005],
        "received when accepted",
      );
    },
  );

  inboxTest(
    "a write sees what was accepted: an accepted emergency can be acknowledged, and a new sink starts after it",
    (inbox) => {
      inbox.accept("d1", [message(1, { priority: 2, receipt: "r1" })]);
      assert.equal(inbox.acknowledged("r1"), 1);
      inbox.accept("d1", [message(2)]);
      assert.deepEqual(inbox.sink("late").next(), []);
      assert.equal(inbox.sink("late").position, 2);
    },
  );

  inboxTest(
    "accept() files on its own once the task is over, and tells the listeners",
    async (inbox) => {
      const filed = new Promise<number>((resolve) => inbox.onAdded(resolve));
      inbox.accept("d1", [message(1), message(2)]);
      assert.equal(await filed, 2);
    },
  );

  define(
    `inbox on ${driverName}: a receiver whose batch another process filed first still tells its sinks, and a listener may read as it is told`,
    async () => {
      const driver = await open();
      const receiver = new Inbox(driver);
      const told: number[] = [];
      const heard = new Promise<void>((resolve) =>
        receiver.onAdded((added) => {
          told.push(added, receiver.latest()); // reads inside the telling
          resolve();
        })
      );
      receiver.accept("d1", [message(1)]);
      const other = new Inbox({ ...driver, close() {} }); // `history`, say
      try {
        assert.equal(other.history().length, 1);
        await heard;
        assert.deepEqual(told, [0, 1], "told, with nothing new to it");
      } finally {
        other.close();
        receiver.close();
      }
    },
  );

  inboxTest(
    "keeps a message whose fields are not text or numbers, searchable, and files the batches behind it",
    (inbox) => {
      const odd = message(1, {
        title: { x: "kettle" },
        priority: true,
        date: "1700000001",
        app: ["Tests"],
        message: 42,
        receipt: 7,
      } as never);
      inbox.accept("d1", [odd]);
      inbox.accept("d1", [message(2, { app: null } as never)]);
      assert.equal(
        inbox.add("d1", [message(3, { url_title: {} } as never)]),
        1,
      );
      const [third, second, first] = inbox.history();
      assert.deepEqual(first.message, odd, "as it came");
      assert.equal(second.message.message, "message 2");
      assert.deepEqual(third.message.url_title, {});
      assert.deepEqual(bodies(inbox.history({ text: "kettle" })), [
        42 as never,
      ]);
      assert.deepEqual(
        inbox.history({ since: 1_700_000_001_000, until: 1_700_000_002_000 })
          .map((stored) => stored.seq),
        [1],
        "a date in a string is still a date",
      );
      assert.equal(inbox.history({ minPriority: 1 }).length, 0);
      assert.deepEqual(inbox.apps(), ["", "Tests", '["Tests"]'], "null: none");
    },
  );

  define(
    `inbox on ${driverName}: a filing that fails (a full disk) is tried again by itself; the next accept() tries it first and, failing, keeps none of its batch`,
    async () => {
      const driver = await open();
      let full = false;
      let failedFiling!: () => void;
      const failed = new Promise<void>((resolve) => failedFiling = resolve);
      const disk: SqlDriver = {
        ...driver,
        all(sql, ...params) {
          if (full && sql.includes("FROM arrivals")) {
            failedFiling();
            throw new Error("database or disk is full");
          }
          return driver.all(sql, ...params);
        },
      };
      // Retried after 1 ms, not the second a receiver waits.
      const inbox = new Inbox(disk, Date.now, { min: 1, max: 1 });
      try {
        inbox.history(); // filed what an earlier receiver left: nothing
        const told: number[] = [];
        let toldFirst!: () => void;
        const filed = new Promise<void>((resolve) => toldFirst = resolve);
        inbox.onAdded((added) => {
          told.push(added);
          toldFirst();
        });
        full = true;
        inbox.accept("d1", [message(1)]);
        await failed;
        assert.throws(
          () => inbox.accept("d1", [message(2)]),
          /database or disk is full/,
        );
        assert.deepEqual(
          driver.all(`SELECT count(*) AS n FROM arrivals`),
          [{ n: 1 }],
          "the second batch is not kept: it stays on the server",
        );
        full = false;
        await filed; // by the retry, without another accept or read
        assert.deepEqual(told, [1]);
        inbox.accept("d1", [message(2)]);
        assert.deepEqual(bodies(inbox.history()), ["message 2", "message 1"]);
      } finally {
        inbox.close();
      }
    },
  );

  inboxTest(
    "accept() refuses a batch with an id that is not one, keeping none of it",
    (inbox) => {
      assert.throws(
        () => inbox.accept("d1", [message(1), message("x1" as never)]),
        /not a message id: "x1"/,
      );
      assert.throws(
        () => inbox.accept("d1", [message(1, { id_str: 1 as never })]),
        /not a message id: 1$/,
      );
      // An id only a getter on its class shows: JSON would not keep it,
      // so the batch could never be filed.
      class Shown {
        message = "shown";
        get id_str() {
          return "3";
        }
      }
      assert.throws(
        () => inbox.accept("d1", [new Shown() as unknown as Message]),
        /not a message id: undefined/,
      );
      // No message at all, or what JSON makes no object of fields: an
      // array, a String object, a toJSON() that gives a list.
      for (
        const none of [
          null,
          "a string",
          7,
          Object.assign([1, 2], { id_str: "9" }),
          Object.assign(new String("x"), { id_str: "9" }),
          { ...message(9), toJSON: () => [1] },
        ]
      ) {
        assert.throws(
          () => inbox.accept("d1", [none as unknown as Message]),
          /not a message id: undefined/,
        );
      }
      // A message whose own toJSON() leaves nothing of it to keep.
      for (const kept of [undefined, null, "text"]) {
        assert.throws(
          () => inbox.accept("d1", [{ ...message(4), toJSON: () => kept }]),
          /not a message id: undefined/,
        );
      }
      assert.deepEqual(inbox.history(), []);
      inbox.accept("d1", [message(2)]);
      assert.deepEqual(bodies(inbox.history()), ["message 2"]);
    },
  );

  define(
    `inbox on ${driverName}: accept() keeps a large batch as rows of 250 messages in one commit, filed in order, each once`,
    async () => {
      const driver = await open();
      const inbox = new Inbox(driver);
      try {
        const batch = Array.from({ length: 1_101 }, (_, i) => message(i + 1));
        inbox.accept("d1", batch.slice(0, 601));
        inbox.accept("d1", batch.slice(601)); // 500: two rows, not three
        assert.deepEqual(
          driver.all(
            `SELECT (SELECT sum(json_array_length(value, '$.rows'))
               FROM json_each(batch, '$.groups')) AS n
             FROM arrivals ORDER BY id`,
          ),
          [250, 250, 101, 250, 250].map((n) => ({ n })),
        );
        const stored = inbox.history({ order: "oldest", limit: 2_000 });
        assert.deepEqual(
          stored.map((s) => s.message.id_str),
          batch.map((m) => m.id_str),
        );
        assert.deepEqual(stored.at(-1)?.seq, 1_101);
      } finally {
        inbox.close();
      }
    },
  );

  define(
    `inbox on ${driverName}: accept() keeps each run of messages with the same fields as one list of names, and gives back each message as its JSON would`,
    async () => {
      const driver = await open();
      const inbox = new Inbox(driver);
      try {
        const titled = { title: "with a title", url: "https://example.com" };
        const { id: _, ...rest } = message(6);
        const batch = [
          message(1),
          message(2, titled),
          message(3, titled),
          // What JSON leaves out is left out: a field undefined, a function.
          message(4, {
            ...titled,
            sound: undefined,
            extra: { nested: [1, "x", null] },
            later: () => 1,
            tag: Symbol("s"),
          } as Partial<Message>),
          JSON.parse(`{"id": 5, "id_str": "5", "__proto__": "a field"}`),
          { ...rest, id: 6 }, // the same fields in another order
          message(7),
          message(8),
          // As many fields, one of them another.
          message(9, { aid: undefined, sound: "siren" } as Partial<Message>),
          // A value's toJSON() is used, given the field's name.
          message(10, {
            when: { toJSON: (key: string) => `at ${key}` },
            gone: { toJSON: () => undefined },
          } as Partial<Message>),
          // A message's own toJSON() decides what of it is kept.
          {
            ...message(11),
            hidden: "its toJSON leaves this out",
            toJSON: () => message(11),
          },
          message(12),
        ] as Message[];
        inbox.accept("d1", batch);
        const [{ groups }] = driver.all<{ groups: string }>(
          `SELECT json_extract(batch, '$.groups') AS groups FROM arrivals`,
        );
        assert.deepEqual(
          (JSON.parse(groups) as { rows: unknown[] }[]).map((g) =>
            g.rows.length
          ),
          [1, 2, 1, 1, 1, 2, 1, 1, 2],
        );
        const stored = inbox.history({ order: "oldest" });
        const asJson = batch.map((m) => JSON.parse(JSON.stringify(m)));
        assert.deepEqual(stored.map((s) => s.message), asJson);
        assert.deepEqual(
          stored.map((s) => Object.keys(s.message)),
          asJson.map((m) => Object.keys(m)),
        );
        assert.equal(
          Object.getPrototypeOf(stored[4].message),
          Object.prototype,
        );
      } finally {
        inbox.close();
      }
    },
  );

  define(
    `inbox on ${driverName}: a batch an earlier version kept (a JSON array of its messages) is filed as well`,
    async () => {
      const driver = await open();
      const inbox = new Inbox(driver);
      try {
        driver.run(
          `INSERT INTO arrivals (device, received_at, batch) VALUES (?, ?, ?)`,
          "d1",
          5,
          JSON.stringify([message(1), message(2)]),
        );
        inbox.accept("d1", [message(3)]);
        assert.deepEqual(
          inbox.history({ order: "oldest" }).map((s) => s.message),
          [message(1), message(2), message(3)],
        );
      } finally {
        inbox.close();
      }
    },
  );

  define(
    `inbox on ${driverName}: what a receiver accepted but did not file before it died is filed by the next to open the inbox, each message once`,
    async () => {
      const driver = await open();
      const commits: (string | undefined)[] = [];
      const receiver = new Inbox({
        ...driver,
        transaction(body, durability) {
          commits.push(durability);
          return driver.transaction(body, durability);
        },
      }, () => 7);
      receiver.accept("d1", [message(1), message(2)]);
      receiver.accept("d1", [message(2), message(3)]);
      receiver.accept("d1", [message(3), message(4)]);
      assert.deepEqual(
        [...commits],
        [undefined, undefined, undefined, undefined],
        "its migration and three accepts, each synced",
      );
      // The next process, on the same database (which only the first closes).
      const next = new Inbox({
        ...driver,
        transaction(body, durability) {
          commits.push(`next: ${durability}`);
          return driver.transaction(body, durability);
        },
        close() {},
      });
      const told: number[] = [];
      next.onAdded((added) => told.push(added));
      try {
        const stored = next.history({ order: "oldest" });
        assert.deepEqual(told, [4], "its sinks are told");
        assert.deepEqual(
          commits.slice(4),
          ["next: undefined", "next: relaxed"],
          "its migration, then the filing: not synced on its own, what it files is on disk already",
        );
        assert.deepEqual(
          bodies(stored),
          [1, 2, 3, 4].map((i) => `message ${i}`),
        );
        assert.deepEqual(stored.map((s) => s.receivedAt), [7, 7, 7, 7]);
        assert.equal(next.stats().messages, 4);
        assert.deepEqual(
          driver.all(`SELECT count(*) AS left FROM arrivals`),
          [{ left: 0 }],
          "a batch filed is not kept twice",
        );
        // The receiver's own filing, later, finds nothing left to file.
        assert.equal(receiver.history().length, 4);
      } finally {
        next.close();
        receiver.close();
      }
    },
  );

  define(
    `inbox on ${driverName}: close() files what was accepted; when filing fails there (a full disk), it still closes and the next to open files it`,
    async () => {
      const driver = await open();
      let full = false;
      const kept = () =>
        driver.all(`SELECT count(*) AS n FROM messages`)[0] as { n: number };
      const disk: SqlDriver = {
        ...driver,
        all(sql, ...params) {
          if (full && sql.includes("FROM arrivals")) {
            throw new Error("database or disk is full");
          }
          return driver.all(sql, ...params);
        },
        close() {}, // the database stays open for the next Inbox
      };
      try {
        const first = new Inbox(disk);
        first.accept("d1", [message(1)]);
        first.close();
        assert.equal(kept().n, 1, "filed by close()");
        assert.deepEqual(
          driver.all(`SELECT count(*) AS n FROM arrivals`),
          [{ n: 0 }],
        );
        const second = new Inbox(disk);
        second.accept("d1", [message(2)]);
        full = true;
        second.close(); // does not throw
        assert.equal(kept().n, 1);
        full = false;
        const third = new Inbox(disk);
        assert.deepEqual(bodies(third.history()), ["message 2", "message 1"]);
        third.close();
      } finally {
        driver.close();
      }
    },
  );

  inboxTest("keeps a batch whole or not at all", (inbox) => {
    assert.throws(() =>
      inbox.add("d1", [message(1), message("not-an-id" as never)])
    );
    assert.deepEqual(inbox.history(), []);
  });

  inboxTest("keeps 64-bit ids exact and orders them as numbers", (inbox) => {
    const big = "18446744073709551615";
    inbox.add("d1", [message(9), message(10), message(big)]);
    const [stored] = inbox.history({ afterId: "10" });
    assert.equal(stored.message.id_str, big);
    assert.deepEqual(bodies(inbox.history({ beforeId: "10" })), ["message 9"]);
    assert.throws(() => inbox.history({ afterId: "1e3" }), /not a message id/);
  });

  inboxTest(
    "keeps what the library passes on: an id beyond 64 bits, a message without app or text",
    (inbox) => {
      const huge = "123456789012345678901234567890";
      const bare = { id: 3, id_str: "3" } as never;
      assert.equal(inbox.add("d1", [message(huge), bare]), 2);
      assert.equal(inbox.add("d1", [message(`000${huge}`)]), 0, "the same id");
      const [last, first] = inbox.history();
      assert.equal(first.message.id_str, huge);
      assert.deepEqual(last.message, bare, "as it came");
      assert.deepEqual(
        bodies(inbox.history({ afterId: "18446744073709551615" })),
        [`message ${huge}`],
        "after every 64-bit id",
      );
    },
  );

  inboxTest("gives back every field as received, unknown ones too", (inbox) => {
    const original = message(5, {
      title: "Disk",
      url: "https://example.com/",
      url_title: "see",
      sound: "pushover",
      html: 1,
      e2ee: "failed",
      future_field: { nested: [1, "two"] },
    });
    inbox.add("d1", [original]);
    const [stored] = inbox.history();
    assert.deepEqual(stored.message, original);
    assert.equal(stored.device, "d1");
    assert.equal(stored.receivedAt, 1_000_000);
    assert.equal(stored.acknowledgedAt, undefined);
    assert.deepEqual(inbox.get(stored.seq), stored);
    assert.equal(inbox.get(99), undefined);
  });

  inboxTest(
    "narrows history by device, app, priority, date and page",
    (inbox) => {
      inbox.add("d1", [
        message(1, { app: "Backup", priority: -1 }),
        message(2, { app: "Alarm", priority: 2, receipt: "r2" }),
        message(3, { app: "Backup", priority: 1 }),
      ]);
      inbox.add("d2", [message(4, { app: "Backup" })]);
      assert.deepEqual(bodies(inbox.history({ device: "d2" })), ["message 4"]);
      assert.deepEqual(bodies(inbox.history({ app: "Backup", device: "d1" })), [
        "message 3",
        "message 1",
      ]);
      assert.deepEqual(bodies(inbox.history({ minPriority: 1 })), [
        "message 3",
        "message 2",
      ]);
      const date = (id: number) => (1_700_000_000 + id) * 1000;
      assert.deepEqual(
        bodies(inbox.history({ since: date(2), until: date(4) })),
        ["message 3", "message 2"],
      );
      assert.deepEqual(bodies(inbox.history({ limit: 1 })), ["message 4"]);
      assert.deepEqual(bodies(inbox.history({ beforeSeq: 4, limit: 2 })), [
        "message 3",
        "message 2",
      ]);
      assert.deepEqual(bodies(inbox.history({ afterSeq: 3 })), ["message 4"]);
    },
  );

  inboxTest(
    "searches title, body, app and link text, every word, ignoring case and accents",
    (inbox) => {
      inbox.add("d1", [
        message(1, { title: "Café open", message: "The disk is full" }),
        message(2, { message: "disk replaced", url_title: "Ticket 42" }),
        message(3, { app: "Thermostat", message: "too warm" }),
      ]);
      assert.deepEqual(bodies(inbox.history({ text: "DISK" })), [
        "disk replaced",
        "The disk is full",
      ]);
      assert.deepEqual(bodies(inbox.history({ text: "cafe disk" })), [
        "The disk is full",
      ]);
      assert.deepEqual(bodies(inbox.history({ text: "ticket" })), [
        "disk replaced",
      ]);
      assert.deepEqual(bodies(inbox.history({ text: "thermostat" })), [
        "too warm",
      ]);
      // Search syntax in the text is just text; punctuation alone is nothing.
      // (`-full` would leave out what has "full"; here it is a word to find.)
      assert.deepEqual(bodies(inbox.history({ text: '"disk" -full*' })), [
        "The disk is full",
      ]);
      assert.deepEqual(inbox.history({ text: '"*-:' }), []);
    },
  );

  inboxTest(
    "indexes for search after the commit, and a search sees everything; retention takes dropped messages out of the index",
    async (inbox) => {
      inbox.add("d1", [message(1, { message: "kettle on" })]);
      assert.equal(inbox.index(), 1);
      assert.equal(inbox.index(), 0, "nothing new");
      inbox.add("d1", [message(2, { message: "kettle off" })]);
      // Not indexed yet: the search indexes first.
      assert.deepEqual(bodies(inbox.history({ text: "kettle" })), [
        "kettle off",
        "kettle on",
      ]);
      inbox.add("d1", [message(3, { message: "kettle again" })]);
      inbox.indexSoon();
      inbox.indexSoon(); // once
      await new Promise((resolve) => setTimeout(resolve, 0));
      assert.equal(inbox.index(), 0, "indexed soon after");
      inbox.add("d1", [message(4, { message: "kettle unindexed" })]);
      // Dropped before and after being indexed: the index stays right.
      assert.deepEqual(inbox.prune({ maxCount: 1 }), { dropped: 3, held: 0 });
      assert.deepEqual(bodies(inbox.history({ text: "kettle" })), [
        "kettle unindexed",
      ]);
      inbox.indexSoon(); // closed before it runs: nothing happens
    },
  );

  inboxTest(
    "lists emergencies waiting for acknowledgement until acknowledged here or when received",
    (inbox) => {
      inbox.add("d1", [
        message(1, { priority: 2, receipt: "r1" }),
        message(2, { priority: 2, receipt: "r2", acked: 1 }),
        message(3, { priority: 1 }),
        message(4, { priority: 2, receipt: "r4" }),
      ]);
      assert.deepEqual(inbox.pending().map((s) => s.message.receipt), [
        "r1",
        "r4",
      ]);
      assert.deepEqual(inbox.pending("d2"), []);
      assert.equal(inbox.acknowledged("r1"), 1);
      assert.equal(inbox.acknowledged("r1"), 0, "once");
      assert.deepEqual(inbox.pending().map((s) => s.message.receipt), ["r4"]);
      assert.equal(
        inbox.history({ order: "oldest" })[0].acknowledgedAt,
        1_000_000,
      );
    },
  );

  inboxTest("tells listeners of adds that kept something", (inbox) => {
    let heard = 0;
    const stop = inbox.onAdded(() => heard++);
    inbox.add("d1", [message(1)]);
    inbox.add("d1", [message(1)]);
    assert.equal(heard, 1);
    stop();
    inbox.add("d1", [message(2)]);
    assert.equal(heard, 1);
    assert.equal(inbox.latest(), 2);
  });

  inboxTest(
    "a new sink starts after what is stored, or before all of it",
    (inbox) => {
      inbox.add("d1", [message(1), message(2)]);
      const late = inbox.sink("late");
      const early = inbox.sink("early", "beginning");
      assert.deepEqual(late.next(), []);
      assert.deepEqual(bodies(early.next()), ["message 1", "message 2"]);
      inbox.add("d1", [message(3)]);
      assert.deepEqual(bodies(late.next()), ["message 3"]);
      // Opening it again keeps where it was.
      assert.equal(inbox.sink("early", "end").position, 0);
    },
  );

  inboxTest(
    "a sink gets each message in order until it says done, and again after a restart if it did not",
    (inbox) => {
      const sink = inbox.sink("hook", "beginning");
      inbox.add("d1", [message(1), message(2), message(3)]);
      const [first] = sink.next(1);
      assert.equal(first.message.message, "message 1");
      assert.deepEqual(bodies(sink.next(1)), ["message 1"], "not done: again");
      sink.done(first.seq);
      assert.deepEqual(bodies(inbox.sink("hook").next()), [
        "message 2",
        "message 3",
      ]);
      assert.equal(sink.position, first.seq);
    },
  );

  inboxTest(
    "a failing sink keeps its message first until it works or is set aside; others go on",
    (inbox) => {
      const failing = inbox.sink("webhook", "beginning");
      const other = inbox.sink("stdout", "beginning");
      inbox.add("d1", [message(1), message(2)]);
      assert.equal(failing.failed(1, "503", { maxAttempts: 3 }), "retry");
      assert.equal(failing.failed(1, "503 again", { maxAttempts: 3 }), "retry");
      assert.deepEqual(bodies(failing.next(1)), ["message 1"]);
      assert.equal(
        failing.failed(1, "503 at last", { maxAttempts: 3 }),
        "dead",
      );
      assert.deepEqual(bodies(failing.next()), ["message 2"], "moved on");
      assert.equal(failing.failed(2, "refused", { permanent: true }), "dead");
      assert.deepEqual(failing.next(), []);
      assert.deepEqual(bodies(other.next()), ["message 1", "message 2"]);
      assert.deepEqual(
        inbox.deadLetters().map(({ sink, seq, attempts, error, state }) => ({
          sink,
          seq,
          attempts,
          error,
          state,
        })),
        [
          {
            sink: "webhook",
            seq: 1,
            attempts: 3,
            error: "503 at last",
            state: "dead",
          },
          {
            sink: "webhook",
            seq: 2,
            attempts: 1,
            error: "refused",
            state: "dead",
          },
        ],
      );
      assert.deepEqual(inbox.deadLetters("stdout"), []);
    },
  );

  inboxTest(
    "retry re-drives dead letters ahead of new messages, one or all",
    (inbox) => {
      const sink = inbox.sink("webhook", "beginning");
      inbox.add("d1", [message(1), message(2)]);
      sink.failed(1, "down", { permanent: true });
      sink.failed(2, "down", { permanent: true });
      inbox.add("d1", [message(3)]);
      let heard = 0;
      inbox.onAdded(() => heard++);
      assert.equal(inbox.retry("webhook", 2), 1);
      assert.equal(heard, 1, "waiting sinks hear of a re-drive");
      assert.deepEqual(bodies(sink.next()), ["message 2", "message 3"]);
      assert.deepEqual(
        sink.next().map((stored) => stored.redriven),
        [true, undefined],
        "a re-driven message says so; the sink's filters let it through",
      );
      assert.deepEqual(bodies(sink.next(1)), ["message 2"], "a page's limit");
      inbox.add("d1", [message(4)]);
      assert.deepEqual(bodies(sink.next(2)), ["message 2", "message 3"]);
      sink.done(2);
      assert.equal(inbox.retry("webhook"), 1, "the one still dead");
      assert.deepEqual(bodies(sink.next()), [
        "message 1",
        "message 3",
        "message 4",
      ]);
      assert.equal(sink.failed(1, "down again", { maxAttempts: 2 }), "retry");
      assert.equal(sink.failed(1, "down again", { maxAttempts: 2 }), "dead");
      assert.deepEqual(inbox.deadLetters().map((d) => [d.seq, d.state]), [[
        1,
        "dead",
      ]]);
      assert.equal(inbox.retry("nobody"), 0);
      // As a history filter, with the others: what some sink set aside.
      inbox.add("d1", [message(5, { app: "Backup" })]);
      sink.failed(5, "down", { permanent: true });
      assert.deepEqual(bodies(inbox.history({ failed: true })), [
        "message 5",
        "message 1",
      ]);
      assert.deepEqual(
        bodies(inbox.history({ failed: true, app: "Backup" })),
        ["message 5"],
      );
      assert.deepEqual(
        bodies(inbox.history({ failed: true, text: "message 1" })),
        ["message 1"],
      );
    },
  );

  inboxTest(
    "retention drops old messages every sink took, and holds (and counts) the rest",
    (inbox, clock) => {
      const sink = inbox.sink("hook", "beginning");
      inbox.add("d1", [message(1), message(2)]);
      clock.now += 60_000;
      inbox.add("d1", [message(3), message(4)]);
      assert.deepEqual(inbox.prune({}), { dropped: 0, held: 0 });
      // Older than 30 s: 1 and 2; the sink took neither yet.
      assert.deepEqual(inbox.prune({ maxAge: 30_000 }), {
        dropped: 0,
        held: 2,
      });
      sink.done(1);
      sink.failed(2, "down", { permanent: true }); // a dead letter is kept
      assert.deepEqual(inbox.prune({ maxAge: 30_000 }), {
        dropped: 1,
        held: 1,
      });
      sink.done(4);
      assert.deepEqual(
        inbox.prune({ maxAge: Infinity, maxCount: Infinity }),
        { dropped: 0, held: 0 },
        "no limit",
      );
      assert.deepEqual(inbox.prune({ maxCount: 1 }), { dropped: 1, held: 1 });
      assert.deepEqual(bodies(inbox.history()), ["message 4", "message 2"]);
      assert.deepEqual(inbox.prune({ maxAge: 0, maxCount: 0 }), {
        dropped: 1,
        held: 1,
      });
      for (const bad of [{ maxAge: Number.NaN }, { maxCount: -1 }]) {
        assert.throws(
          () => inbox.prune(bad),
          /retention: max(Age|Count) must be a number ≥ 0 \(Infinity keeps all\)/,
        );
      }
    },
  );

  define(
    `inbox on ${driverName}: sends the same statements whatever the values and the time`,
    async () => {
      // node:sqlite's driver keeps each distinct SQL text prepared for the
      // life of the inbox: a value written into the text (a retention
      // cutoff that moves with the clock) would grow that for as long as a
      // listener runs.
      const driver = await open();
      const texts = new Set<string>();
      let calls = 0;
      const seen = (sql: string) => (texts.add(sql), calls++);
      const counted: SqlDriver = {
        run: (sql, ...params) => (seen(sql), driver.run(sql, ...params)),
        all: (sql, ...params) => (seen(sql), driver.all(sql, ...params)),
        transaction: (body, durability) => driver.transaction(body, durability),
        close: () => driver.close(),
      };
      const clock = { now: 1_000_000 };
      const inbox = new Inbox(counted, () => clock.now);
      const round = (n: number) => {
        clock.now += 3_600_000;
        const receipt = `receipt${n}`;
        inbox.accept("d1", [
          message(10 * n + 1),
          message(10 * n + 2, { priority: 2, receipt }),
        ]);
        inbox.add("d2", [message(10 * n + 3)]);
        const sink = inbox.sink("hook", "beginning");
        const [first, second] = sink.next(2 + n);
        sink.done(first.seq);
        sink.failed(second.seq, `down ${n}`, { maxAttempts: 1 });
        inbox.retry("hook", second.seq);
        inbox.acknowledged(receipt);
        inbox.markRead({ through: first.seq, matching: { app: "Tests" } });
        inbox.history({
          text: `message ${n}`,
          device: "d1",
          since: n,
          until: 1e15 + n,
          app: "Tests",
          minPriority: n - 2,
          afterId: String(n),
          limit: 5 + n,
        });
        inbox.prune({ maxAge: 1_000 * n, maxCount: 100 + n });
        inbox.stats();
        inbox.pending();
      };
      try {
        round(1);
        const first = new Set(texts);
        round(2);
        round(3);
        assert.deepEqual(
          [...texts].filter((sql) => !first.has(sql)),
          [],
          "statements a second and third round added",
        );
        const before = calls;
        inbox.prune({});
        inbox.prune({ maxAge: Infinity, maxCount: Infinity });
        assert.equal(calls, before, "no limit: nothing for the database to do");
      } finally {
        inbox.close();
      }
    },
  );

  inboxTest("counts what it holds and where each sink is", (inbox, clock) => {
    assert.deepEqual(inbox.stats(), {
      messages: 0,
      latest: 0,
      bytes: 0,
      sinks: [],
    });
    const sink = inbox.sink("hook", "beginning");
    inbox.add("d1", [message(1)]);
    clock.now += 5;
    inbox.add("d1", [message(2)]);
    sink.failed(1, "down", { permanent: true });
    sink.failed(2, "down", { permanent: true });
    inbox.retry("hook", 2);
    const stats = inbox.stats();
    assert.equal(stats.messages, 2);
    assert.equal(stats.oldest, 1_000_000);
    assert.equal(stats.newest, 1_000_005);
    assert.equal(stats.latest, 2);
    assert.ok(stats.bytes > 100, `${stats.bytes} bytes`);
    assert.deepEqual(stats.sinks, [{
      name: "hook",
      position: 2,
      behind: 0,
      dead: 2,
      redriven: 1,
    }]);
  });

  inboxTest(
    "marks messages read, one by one or up to a position, counts the unread, and lists the apps",
    (inbox, clock) => {
      inbox.add("d1", [message(1), message(2), message(3)]);
      assert.equal(inbox.unreadCount(), 3);
      clock.now = 2_000_000;
      assert.equal(inbox.markRead({ seqs: [2] }), 1);
      assert.equal(inbox.markRead({ seqs: [2] }), 0, "read already");
      assert.equal(inbox.unreadCount(), 2);
      assert.equal(inbox.get(2)?.readAt, 2_000_000);
      assert.equal(inbox.get(1)?.readAt, undefined);
      assert.deepEqual(bodies(inbox.history({ unread: true })), [
        "message 3",
        "message 1",
      ]);
      assert.deepEqual(inbox.apps(), ["Tests"]);
      inbox.add("d1", [message(4, { app: "Backup" })]);
      assert.deepEqual(inbox.apps(), ["Backup", "Tests"], "by name");
      assert.equal(inbox.markRead({ through: 3 }), 2);
      assert.equal(inbox.unreadCount(), 1, "message 4 came after");
      assert.deepEqual(bodies(inbox.history({ unread: true })), ["message 4"]);
    },
  );

  inboxTest(
    "marks read up to a position only what a query lets through: an app, a priority, a search, the set-aside; a search for nothing marks nothing",
    (inbox) => {
      inbox.add("d1", [
        message(1, { app: "Backup", message: "the disk is full" }),
        message(2, { app: "Alarm", priority: 2, receipt: "r2" }),
        message(3, { app: "Backup", message: "all fine" }),
        message(4, { app: "Mail", message: "a disk arrived" }),
        message(5, { app: "Backup", message: "the disk again" }),
      ]);
      const unread = () =>
        inbox.history({ unread: true, order: "oldest" }).map((s) => s.seq);
      assert.equal(
        inbox.markRead({ through: 4, matching: { text: "!!" } }),
        0,
        "nothing to search for",
      );
      assert.equal(
        inbox.markRead({ through: 4, matching: { app: "Backup" } }),
        2,
      );
      assert.deepEqual(unread(), [2, 4, 5], "5 is past the position");
      assert.equal(
        inbox.markRead({ through: 5, matching: { minPriority: 1 } }),
        1,
      );
      assert.deepEqual(unread(), [4, 5]);
      assert.equal(
        inbox.markRead({ through: 4, matching: { text: "disk" } }),
        1,
      );
      assert.deepEqual(unread(), [5]);
      const sink = inbox.sink("webhook", "beginning");
      sink.failed(5, "down", { permanent: true });
      assert.equal(
        inbox.markRead({ through: 5, matching: { failed: true } }),
        1,
      );
      assert.deepEqual(unread(), []);
      assert.equal(inbox.history().length, 5, "read, and still listed");
    },
  );

  inboxTest(
    "forgets a sink: its position and dead letters; made again, it starts after what is stored",
    (inbox) => {
      const gone = inbox.sink("notify", "beginning");
      const kept = inbox.sink("stdout", "beginning");
      inbox.add("d1", [message(1), message(2), message(3)]);
      gone.failed(1, "down", { permanent: true });
      kept.failed(2, "down", { permanent: true });
      kept.done(3);
      assert.deepEqual(inbox.forgetSink("notify"), { behind: 2, dead: 1 });
      assert.deepEqual(inbox.stats().sinks.map((sink) => sink.name), [
        "stdout",
      ]);
      assert.deepEqual(inbox.deadLetters().map((d) => [d.sink, d.seq]), [[
        "stdout",
        2,
      ]]);
      assert.deepEqual(
        inbox.prune({ maxCount: 1 }),
        { dropped: 1, held: 1 },
        "no longer held back by it (message 2 is stdout's dead letter)",
      );
      assert.deepEqual(inbox.sink("notify").next(), [], "anew, at the end");
      assert.deepEqual(inbox.forgetSink("nobody"), { behind: 0, dead: 0 });
    },
  );

  inboxTest(
    "has one receiver: a live holder keeps it, a gone one is replaced",
    (inbox) => {
      const me = { pid: 100, host: "box", since: 1 };
      const other = { pid: 200, host: "box", since: 2 };
      assert.equal(inbox.claim(me, () => true), undefined);
      assert.equal(inbox.claim(me, () => true), undefined, "mine already");
      assert.deepEqual(inbox.claim(other, () => true), me);
      assert.equal(inbox.claim(other, () => false), undefined, "holder gone");
      inbox.release(me); // not the holder: nothing
      assert.deepEqual(inbox.claim(me, () => true), other);
      inbox.release(other);
      assert.equal(inbox.claim(me, () => true), undefined);
    },
  );
}
