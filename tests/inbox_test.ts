// The inbox on the runtime's own SQLite (inbox/): the storage contract, the
// file it keeps, sinks reading it, and a stream received into it over the
// fake server.

import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import {
  Inbox,
  InboxError,
  openInbox,
  openSqliteFile,
  receive,
  runSink,
  type SinkCursor,
  type StoredMessage,
} from "../inbox/mod.ts";
import { COMMIT_AFTER, COMMIT_EVERY } from "../inbox/sinks.ts";
import { deliverThroughInbox } from "../cli/_through_inbox.ts";
import { SCHEMA_VERSION } from "../inbox/_schema.ts";
import { isJsonAsItIs, packBatch, unpackBatch } from "../inbox/_arrivals.ts";
import type { Message } from "../mod.ts";
import { unusable } from "../inbox/node_sqlite.ts";
import { inboxContract, message } from "./_inbox_contract.ts";
import { newDevice, nextTurn, queued, serverTest, within } from "./_setup.ts";
import { startScript } from "./_spawn.ts";

inboxContract(
  "node:sqlite in memory",
  () => openSqliteFile(":memory:"),
  test,
);

/** A temporary folder for files, removed after `body`. */
async function inFolder(body: (dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "inbox-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let files = 0;
inboxContract("a node:sqlite file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "inbox-contract-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return await openSqliteFile(join(dir, `inbox-${++files}.sqlite`));
}, test);

test("packBatch: one list of field names per run of messages with the same fields, in their order; unpackBatch gives back each as its JSON", () => {
  const titled = { title: "t", url: "https://example.com" };
  const { id: _, ...rest } = message(4);
  // Twice the same: JSON's reading of the one runs the other's getters.
  const made = () => [
    message(1, titled),
    message(2), // its fields are the first's, fewer
    message(3),
    { ...rest, id: 4 }, // the same fields in another order
    message(
      5,
      { sound: null, extra: { a: [1] } } as unknown as Partial<Message>,
    ),
    message(
      6,
      { sound: null, extra: { a: [2] } } as unknown as Partial<Message>,
    ),
    message(7, { url: "https://example.com" }),
    // A field inherited where the last run's names end: JSON leaves it out.
    Object.assign(Object.create({ url: "inherited" }), message(8)),
    message(9),
    Object.assign(Object.create({ inherited: "left out" }), message(10)),
    // What JSON makes of a value, and of nothing more: a toJSON() result
    // is not asked for its own; a String or Number object is unwrapped.
    message(12, {
      nested: { toJSON: () => ({ toJSON: () => 2 }) },
      when: { toJSON: () => new Date(0) },
      id_str: new String("12"),
      priority: new Number(1),
    } as unknown as Partial<Message>),
    // A getter that adds a field: JSON lists the names first, then reads.
    {
      ...message(13),
      get late() {
        (this as Record<string, unknown>).added = "after the names";
        return "read";
      },
    },
  ];
  const batch = made();
  const asJson = made().map((m) => JSON.parse(JSON.stringify(m)));
  const ids: unknown[] = [];
  const packed = packBatch(batch, (id) => ids.push(id));
  const { groups } = JSON.parse(packed) as { groups: { rows: unknown[] }[] };
  assert.deepEqual(groups.map((g) => g.rows.length), [1, 2, 1, 2, 1, 3, 1, 1]);
  assert.deepEqual(ids, asJson.map((m) => m.id_str));
  assert.deepEqual(unpackBatch(packed), asJson);
});

test("packBatch: a BigInt is refused as JSON refuses it, or given to the toJSON() someone put on BigInts", () => {
  const big = message(1, { big: 1n } as Partial<Message>);
  assert.throws(() => JSON.stringify(big), TypeError);
  assert.throws(() => packBatch([big], () => {}), TypeError);
  const bigints = BigInt.prototype as { toJSON?: () => string };
  bigints.toJSON = function (this: bigint) {
    return `${this}n`;
  };
  try {
    const asJson = JSON.parse(JSON.stringify(big));
    assert.equal(asJson.big, "1n");
    assert.deepEqual(unpackBatch(packBatch([big], () => {})), [asJson]);
  } finally {
    delete bigints.toJSON;
  }
});

test("packBatch: a message without an id is one, whatever a prototype says", () => {
  const prototype = Object.prototype as Record<string, unknown>;
  prototype["-1"] = "1"; // where an index of -1 would be looked up
  try {
    const ids: unknown[] = [];
    const { id_str: _, ...noId } = message(1);
    packBatch([noId as Message], (id) => ids.push(id));
    assert.deepEqual(ids, [undefined]);
  } finally {
    delete prototype["-1"];
  }
});

test("isJsonAsItIs: what JSON keeps as it is, and what it reads its own way (the slow path)", () => {
  for (const kept of ["x", "", 1, 0, NaN, true, false, null, { a: 1 }, [1]]) {
    assert.equal(isJsonAsItIs(kept), true, String(kept));
  }
  for (
    const read of [
      undefined,
      () => 1,
      Symbol("s"),
      1n,
      { toJSON: () => "other" },
      new Date(0),
      new String("s"),
      new Number(1),
      new Boolean(false),
    ]
  ) {
    assert.equal(isJsonAsItIs(read), false, typeof read);
  }
});

test("the inbox file is 0600 in a 0700 folder whatever the umask, and keeps what was added", async () => {
  await inFolder(async (dir) => {
    const path = join(dir, "deep", "inbox.sqlite");
    const umask = process.umask(0);
    let inbox: Inbox;
    try {
      inbox = await openInbox(path);
    } finally {
      process.umask(umask);
    }
    inbox.add("d1", [message(1)]);
    inbox.close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "deep")).mode & 0o777, 0o700);
    const again = await openInbox(path);
    try {
      assert.equal(again.history()[0].message.message, "message 1");
    } finally {
      again.close();
    }
  });
});

test("a file that is not an inbox is one line naming it and what to do", async () => {
  await inFolder(async (dir) => {
    const path = join(dir, "inbox.sqlite");
    writeFileSync(path, "this is no database ".repeat(100), { mode: 0o600 });
    await assert.rejects(openInbox(path), (error: Error) => {
      assert.ok(error instanceof InboxError, String(error));
      assert.match(error.message, new RegExp(`^the inbox ${path}: `));
      assert.match(error.message, /move it aside/);
      assert.equal(error.message.includes("\n"), false);
      return true;
    });
  });
});

test("an inbox written by a newer version is refused, not misread", async () => {
  await inFolder(async (dir) => {
    const path = join(dir, "inbox.sqlite");
    const driver = await openSqliteFile(path);
    new Inbox(driver);
    driver.run(`UPDATE meta SET value = ? WHERE name = 'schema'`, "99");
    driver.close();
    await assert.rejects(
      openInbox(path),
      new RegExp(
        `newer version \\(schema 99; this one knows ${SCHEMA_VERSION}\\)`,
      ),
    );
  });
});

test(
  "a read-only inbox stops receiving with one line and keeps nothing half-written",
  {
    skip: process.getuid?.() === 0 && "root writes read-only files",
  },
  async () => {
    await inFolder(async (dir) => {
      const path = join(dir, "inbox.sqlite");
      (await openInbox(path)).close();
      chmodSync(path, 0o400);
      chmodSync(dir, 0o500);
      try {
        const inbox = await openInbox(path).catch((error) => error);
        const error = inbox instanceof Error ? inbox : (() => {
          try {
            inbox.add("d1", [message(1)]);
          } catch (thrown) {
            return thrown as Error;
          } finally {
            inbox.close();
          }
        })();
        assert.ok(error instanceof InboxError, String(error));
        assert.match(error.message, /cannot be written/);
      } finally {
        chmodSync(dir, 0o700);
      }
    });
  },
);

/** Bodies of stored messages. */
const bodies = (list: StoredMessage[]) =>
  list.map((stored) => stored.message.message);

/** An in-memory inbox for a test. */
async function memoryInbox(): Promise<Inbox> {
  return await openInbox(":memory:");
}

/** Resolves when `count` deliveries were recorded. */
function deliveries(count: number) {
  const got: string[] = [];
  let enough!: () => void;
  const done = new Promise<void>((resolve) => enough = resolve);
  return {
    got,
    done,
    record(stored: StoredMessage) {
      got.push(stored.message.message);
      if (got.length === count) enough();
    },
  };
}

test("ids are kept as keys files written before still match: 20 digits zero-padded, a longer id after them; a missing app or text is stored empty", async () => {
  const driver = await openSqliteFile(":memory:");
  const inbox = new Inbox(driver);
  const long = "100000000000000000000";
  inbox.add("d1", [
    message(42),
    message("18446744073709551615"),
    message(long),
    { id: 3, id_str: "3" } as never,
  ]);
  const rows = driver.all<{ key: string; app: string; body: string }>(
    `SELECT key, app, body FROM messages ORDER BY seq`,
  );
  assert.deepEqual(rows.map((row) => row.key), [
    "00000000000000000042",
    "18446744073709551615",
    `:0021${long}`,
    "00000000000000000003",
  ]);
  assert.deepEqual([rows[3].app, rows[3].body], ["", ""]);
  inbox.close();
});

test("a disk I/O error (a write past a file size limit, a failing disk) is one line naming the inbox", () => {
  const error = unusable("/x/inbox.sqlite", new Error("disk I/O error"));
  assert.ok(error instanceof InboxError);
  assert.equal(
    error.message,
    "the inbox /x/inbox.sqlite: disk I/O error; the disk is full, over a size limit or failing: make room or check it",
  );
});

test("a damaged file is the file's fault; a JSON function's \"malformed JSON\" is the statement's, left as SQLite said it", () => {
  for (
    const text of [
      "database disk image is malformed",
      'malformed database schema (t) - near "TABLX": syntax error',
    ]
  ) {
    const damaged = unusable("/x/inbox.sqlite", new Error(text));
    assert.ok(damaged instanceof InboxError, text);
    assert.match(damaged.message, /it is damaged or not an inbox/);
  }
  const statement = new Error("malformed JSON");
  assert.equal(unusable("/x/inbox.sqlite", statement), statement);
});

test("a sink's position is committed relaxed (a power cut may re-deliver); what is received and what fails, synced", async () => {
  const driver = await openSqliteFile(":memory:");
  const commits: (string | undefined)[] = [];
  const inbox = new Inbox({
    ...driver,
    transaction: (body, durability) => {
      commits.push(durability);
      return driver.transaction(body, durability);
    },
  });
  const sink = inbox.sink("out", "beginning");
  commits.length = 0;
  inbox.add("d1", [message(1), message(2)]);
  sink.done(1);
  sink.failed(2, "down");
  assert.deepEqual(commits, [undefined, "relaxed", undefined]);
  inbox.close();
});

/** A cursor whose position commits are recorded; `reached(n)` waits for the nth. */
function recordCommits(cursor: SinkCursor) {
  const commits: number[][] = [];
  const waiting: { count: number; resolve: () => void }[] = [];
  const done = cursor.done.bind(cursor);
  cursor.done = (...seqs) => {
    done(...seqs);
    commits.push(seqs);
    for (const wait of waiting) {
      if (commits.length >= wait.count) wait.resolve();
    }
  };
  const reached = (count: number) =>
    within(
      new Promise<void>((resolve) => {
        waiting.push({ count, resolve });
        if (commits.length >= count) resolve();
      }),
      `${count} position commits`,
    );
  return { commits, reached };
}

test("runSink moves its position past what it took together: at the end of a page, once COMMIT_EVERY ms passed, or after COMMIT_AFTER messages", async () => {
  const inbox = await memoryInbox();
  const cursor = inbox.sink("out", "beginning");
  const { commits, reached } = recordCommits(cursor);
  const clock = { now: 0 };
  const stop = new AbortController();
  const running = runSink(inbox, cursor, (stored) => {
    if (stored.seq === 5) clock.now += COMMIT_EVERY; // a slow one
  }, { signal: stop.signal, now: () => clock.now });
  inbox.add("d1", [message(1), message(2), message(3), message(4)]);
  await reached(1);
  inbox.add("d1", [message(5), message(6), message(7)]);
  await reached(3);
  const many = Array.from({ length: COMMIT_AFTER + 2 }, (_, i) => 8 + i);
  inbox.add("d1", many.map((seq) => message(seq)));
  await reached(5);
  stop.abort();
  await running;
  assert.deepEqual(commits, [
    [1, 2, 3, 4],
    [5],
    [6, 7],
    many.slice(0, COMMIT_AFTER),
    many.slice(COMMIT_AFTER),
  ]);
  assert.equal(cursor.position, 7 + many.length);
  inbox.close();
});

test("runSink commits what it took before a failure is counted, and when it stops (not the message the stop cut short)", async () => {
  const inbox = await memoryInbox();
  const cursor = inbox.sink("out", "beginning");
  const { commits } = recordCommits(cursor);
  inbox.add("d1", [message(1), message(2), message(3), message(4)]);
  const stop = new AbortController();
  let failedOnce = false;
  await runSink(inbox, cursor, (stored) => {
    if (stored.seq === 3 && !failedOnce) {
      failedOnce = true;
      throw new Error("down");
    }
    if (stored.seq === 4) stop.abort();
  }, {
    signal: stop.signal,
    now: () => 0,
    sleep: () => Promise.resolve(),
  });
  assert.deepEqual(commits, [[1, 2], [3]]);
  assert.equal(cursor.position, 3, "4 comes again on the next run");
  assert.deepEqual(inbox.deadLetters(), []);
  inbox.close();
});

test("runSink rejects with the inbox's failure to commit, counting no delivery failure and skipping nothing", async () => {
  const inbox = await memoryInbox();
  const cursor = inbox.sink("out", "beginning");
  const done = cursor.done.bind(cursor);
  const full = new Error("database or disk is full");
  let refuse = true;
  cursor.done = (...seqs) => {
    if (refuse) throw full;
    done(...seqs);
  };
  inbox.add("d1", [message(1), message(2), message(3)]);
  const got: number[] = [];
  const clock = { now: 0 };
  const failure = await runSink(inbox, cursor, (stored) => {
    got.push(stored.seq);
    clock.now += COMMIT_EVERY; // each commits at once
  }, {
    signal: new AbortController().signal,
    now: () => clock.now,
    maxAttempts: 1,
  }).then(() => undefined, (error) => error);
  assert.equal(failure, full);
  assert.deepEqual(got, [1]);
  assert.deepEqual(inbox.deadLetters(), [], "delivered, not failed");
  refuse = false;
  const stop = new AbortController();
  const rest = deliveries(3);
  const again = runSink(inbox, cursor, rest.record, { signal: stop.signal });
  await within(rest.done, "all three, from the start");
  stop.abort();
  await again;
  assert.deepEqual(rest.got, ["message 1", "message 2", "message 3"]);
  inbox.close();
});

test("runSink reads the inbox a page at a time, not once per message", async () => {
  const inbox = await memoryInbox();
  const cursor = inbox.sink("out", "beginning");
  let reads = 0;
  const next = cursor.next.bind(cursor);
  cursor.next = (limit) => {
    reads++;
    return next(limit);
  };
  inbox.add("d1", [message(1), message(2), message(3), message(4)]);
  const stop = new AbortController();
  const seen = deliveries(4);
  const running = runSink(inbox, cursor, seen.record, { signal: stop.signal });
  await within(seen.done, "four deliveries");
  stop.abort();
  await running;
  assert.ok(reads <= 2, `${reads} reads: one page, and one found empty`);
  inbox.close();
});

test("runSink hands over each message in order, waits for more, and stops on its signal", async () => {
  const inbox = await memoryInbox();
  const stop = new AbortController();
  const seen = deliveries(3);
  const running = runSink(inbox, inbox.sink("out"), seen.record, {
    signal: stop.signal,
  });
  inbox.add("d1", [message(1), message(2)]);
  inbox.add("d1", [message(3)]);
  await within(seen.done, "three deliveries");
  stop.abort();
  await running;
  assert.deepEqual(seen.got, ["message 1", "message 2", "message 3"]);
  assert.equal(inbox.sink("out").position, 3);
  inbox.close();
});

test("runSink retries a failing message with the policy's delays, then sets it aside and goes on", async () => {
  const inbox = await memoryInbox();
  const stop = new AbortController();
  const waits: number[] = [];
  const dead: string[] = [];
  const seen = deliveries(2);
  let tries = 0;
  const running = runSink(inbox, inbox.sink("hook", "beginning"), (stored) => {
    if (stored.seq === 1) {
      tries++;
      throw Object.assign(new Error("503"), { retryAfter: 50_000 });
    }
    seen.record(stored);
  }, {
    signal: stop.signal,
    maxAttempts: 3,
    retryDelay: { min: 10, max: 20 },
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    onDead: (stored, reason) => dead.push(`${stored.seq}: ${reason}`),
  });
  inbox.add("d1", [message(1), message(2), message(3)]);
  await within(seen.done, "the messages after the dead one");
  stop.abort();
  await running;
  assert.equal(tries, 3);
  assert.deepEqual(waits, [50_000, 50_000], "Retry-After as the floor");
  assert.deepEqual(dead, ["1: 503"]);
  assert.deepEqual(seen.got, ["message 2", "message 3"]);
  inbox.close();
});

test("runSink sets a permanent failure aside at once; a second sink is not held back by the first", async () => {
  const inbox = await memoryInbox();
  const stop = new AbortController();
  const failing = runSink(inbox, inbox.sink("webhook"), () => {
    throw new Error("refused");
  }, {
    signal: stop.signal,
    isPermanent: () => true,
    sleep: () => new Promise(() => {}), // a retry would hang here
  });
  const seen = deliveries(2);
  const other = runSink(inbox, inbox.sink("stdout"), seen.record, {
    signal: stop.signal,
  });
  inbox.add("d1", [message(1), message(2)]);
  await within(seen.done, "stdout's deliveries");
  const deadBoth = new Promise<void>((resolve) => {
    const check = () =>
      inbox.deadLetters("webhook").length === 2
        ? resolve()
        : setTimeout(check, 1);
    check();
  });
  await within(deadBoth, "both dead for the webhook");
  stop.abort();
  await Promise.all([failing, other]);
  inbox.close();
});

test("runSink counts no failure for a delivery the stop cut short, and takes a Retry-After only as a number", async () => {
  const inbox = await memoryInbox();
  const retries: number[] = [];
  // A Retry-After that is not a number (a header as text) is no floor.
  const textual = new AbortController();
  let tries = 0;
  const textRun = runSink(inbox, inbox.sink("text", "beginning"), () => {
    if (++tries === 2) textual.abort();
    throw Object.assign(new Error("503"), { retryAfter: "86400000" });
  }, {
    signal: textual.signal,
    retryDelay: { min: 10, max: 20 },
    sleep: () => Promise.resolve(),
    onRetry: (_stored, _reason, delay) => retries.push(delay),
  });
  inbox.add("d1", [message(1)]);
  await textRun; // the second try stops it
  assert.ok(retries.length >= 1, "tried again");
  assert.ok(retries.every((delay) => delay <= 20), `waits ${retries}`);
  // Stopped while delivering, the delivery rejecting because of it: no
  // attempt counted, no retry said.
  const stop = new AbortController();
  const said: string[] = [];
  const running = runSink(inbox, inbox.sink("cut", "beginning"), () => {
    stop.abort();
    throw new Error("aborted");
  }, {
    signal: stop.signal,
    maxAttempts: 1,
    onRetry: () => said.push("retry"),
    onDead: () => said.push("dead"),
  });
  await running;
  assert.deepEqual(said, []);
  assert.equal(inbox.sink("cut").position, 0, "still first in line");
  inbox.close();
});

test("runSink leaves no listener behind on the inbox or the signal after each wait", async () => {
  const inbox = await memoryInbox();
  let subscribed = 0;
  const onAdded = inbox.onAdded.bind(inbox);
  inbox.onAdded = (listener) => {
    subscribed++;
    const unsubscribe = onAdded(listener);
    return () => {
      subscribed--;
      unsubscribe();
    };
  };
  const stop = new AbortController();
  let listening = 0;
  const add = stop.signal.addEventListener.bind(stop.signal);
  const remove = stop.signal.removeEventListener.bind(stop.signal);
  stop.signal.addEventListener = ((type: string, listener: () => void) => {
    if (type === "abort") listening++;
    add(type, listener);
  }) as typeof stop.signal.addEventListener;
  stop.signal.removeEventListener = ((type: string, listener: () => void) => {
    if (type === "abort") listening--;
    remove(type, listener);
  }) as typeof stop.signal.removeEventListener;
  const seen = deliveries(20);
  const running = runSink(inbox, inbox.sink("out"), seen.record, {
    signal: stop.signal,
  });
  for (let i = 1; i <= 20; i++) {
    inbox.add("d1", [message(i)]);
    await nextTurn(); // one wait per message
  }
  await within(seen.done, "twenty deliveries");
  assert.ok(subscribed <= 1, `${subscribed} subscriptions to the inbox`);
  assert.ok(listening <= 1, `${listening} listeners on the signal`);
  stop.abort();
  await running;
  assert.equal(subscribed, 0);
  assert.equal(listening, 0);
  inbox.close();
});

test("the inbox keeps each message's umid in its column, for lookups by it", async () => {
  const driver = await openSqliteFile(":memory:");
  const inbox = new Inbox(driver);
  // A 2019 server sends no *_str twins: the umid is then not kept.
  inbox.add("d1", [
    message(1),
    { ...message(2), umid_str: undefined } as never,
  ]);
  assert.deepEqual(
    driver.all<{ umid: string }>("SELECT umid FROM messages ORDER BY seq")
      .map((row) => row.umid),
    ["1001", ""],
  );
  inbox.close();
});

test("runSink sees another process's adds by polling the file", async () => {
  await inFolder(async (dir) => {
    const path = join(dir, "inbox.sqlite");
    const reader = await openInbox(path);
    const writer = await openInbox(path);
    const stop = new AbortController();
    const seen = deliveries(1);
    const running = runSink(reader, reader.sink("follow"), seen.record, {
      signal: stop.signal,
      poll: 5,
    });
    writer.add("d1", [message(1)]);
    await within(seen.done, "the other connection's message");
    stop.abort();
    await running;
    reader.close();
    writer.close();
  });
});

serverTest(
  "receive() keeps every message in the inbox before the server deletes it, each once",
  async (context) => {
    const device = await newDevice(context);
    const inbox = await memoryInbox();
    const stop = new AbortController();
    const seen = deliveries(4); // the welcome and three
    const watching = runSink(
      inbox,
      inbox.sink("watch", "beginning"),
      seen.record,
      {
        signal: stop.signal,
      },
    );
    const receiving = receive(
      context.stream(device, { signal: stop.signal }),
      inbox,
      device,
    );
    await context.server.waitForLogin(device.deviceId);
    for (const text of ["one", "two", "three"]) {
      context.server.send({ message: text });
    }
    await within(seen.done, "four messages in the inbox");
    stop.abort();
    await receiving.catch(() => {});
    await watching;
    assert.deepEqual(seen.got.slice(1), ["one", "two", "three"]);
    assert.equal(inbox.stats().messages, 4);
    // Each commit asked for indexing on the next timer turn: one turn more
    // (timers of the same delay fire in the order they were made) and it is
    // done without a search asking.
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(inbox.index(), 0, "indexed after each commit already");
    assert.deepEqual(queued(context.server, device), [], "all deleted");
    inbox.close();
  },
);

serverTest(
  "listen's delivery stops with the inbox's error when it fails under a sink (a full disk): the stream stops, the message comes again",
  async (context) => {
    const device = await newDevice(context);
    const inbox = await memoryInbox();
    const full = new InboxError(
      "the inbox x: database or disk is full; make room",
    );
    const sink = inbox.sink.bind(inbox);
    inbox.sink = (name, start) => {
      const cursor = sink(name, start);
      cursor.done = () => {
        throw full;
      };
      return cursor;
    };
    const printed: string[] = [];
    const stream = context.stream(device);
    const delivering = deliverThroughInbox({
      inbox,
      path: "x",
      deviceId: device.deviceId,
      stream,
      sinks: [{
        name: "stdout",
        takesUndecryptable: true,
        deliver: (message) => {
          printed.push(message.message);
          return Promise.resolve();
        },
      }],
      wanted: () => true,
      retry: { min: 1, max: 1, resetAfter: 0 },
      maxAttempts: 3,
      retention: { maxAge: Infinity, maxCount: Infinity }, // keep all
      deliverUndecryptable: false,
      encryptionKey: undefined,
      handling: new AbortController(),
      tell: () => {},
      problem: () => {},
    });
    const failure = await delivering.then(() => undefined, (error) => error);
    assert.equal(failure, full);
    assert.equal(
      printed.length,
      1,
      "the welcome, once: not taken for a failure",
    );
    assert.deepEqual(inbox.deadLetters(), []);
    assert.equal(inbox.sink("stdout").position, 0, "it comes again next time");
    inbox.close();
  },
);

serverTest(
  "receive() leaves a batch the inbox could not keep on the server, and stops with the inbox's error",
  async (context) => {
    const device = await newDevice(context);
    const inbox = await memoryInbox();
    inbox.close(); // every add now fails
    const failure = await receive(context.stream(device), inbox, device).then(
      () => undefined,
      (error) => error,
    );
    assert.ok(failure instanceof Error);
    assert.equal(queued(context.server, device).length, 1, "the welcome stays");
  },
);

test("an Inbox refuses filing retry waits that would spin (0 ms, NaN) or make no sense (min above max), in one line", async () => {
  const driver = await openSqliteFile(":memory:");
  try {
    for (
      const [min, max] of [
        [0, 0],
        [Number.NaN, 5],
        [10, 5],
        [1, Infinity],
        [1, 2 ** 31],
      ]
    ) {
      assert.throws(
        () => new Inbox(driver, Date.now, { min, max }),
        (error: Error) =>
          error instanceof RangeError &&
          error.message ===
            `Inbox: 'filingRetry' must be { min, max } in ms with 1 ≤ min ≤ max ≤ 2147483647: current values are ${min} and ${max}`,
      );
    }
  } finally {
    // The longest a timer waits, accepted; closing the database with it.
    new Inbox(driver, Date.now, { min: 1, max: 2 ** 31 - 1 }).close();
  }
});

test("the node:sqlite driver: WAL, synced commits, a busy timeout; nested transactions join the outer one; statement errors stay SQLite's", async () => {
  await inFolder(async (dir) => {
    const warn = process.emitWarning;
    const path = join(dir, "inbox.sqlite");
    const driver = await openSqliteFile(path);
    try {
      assert.equal(process.emitWarning, warn, "the warning filter is undone");
      assert.deepEqual(driver.all(`PRAGMA journal_mode`), [
        { journal_mode: "wal" },
      ]);
      assert.deepEqual(driver.all(`PRAGMA synchronous`), [{ synchronous: 2 }]);
      assert.deepEqual(driver.all(`PRAGMA busy_timeout`), [{ timeout: 5000 }]);
      driver.run(`CREATE TABLE t (n INTEGER PRIMARY KEY)`);
      driver.transaction(() =>
        driver.transaction(() => driver.run(`INSERT INTO t VALUES (1)`))
      );
      assert.throws(() =>
        driver.transaction(() => {
          driver.run(`INSERT INTO t VALUES (2)`);
          throw new Error("rolled back");
        }), /rolled back/);
      assert.deepEqual(driver.all(`SELECT n FROM t`), [{ n: 1 }]);
      assert.deepEqual(
        driver.transaction(() => driver.all(`PRAGMA synchronous`)),
        [{ synchronous: 2 }],
        "a transaction commits synced unless told otherwise",
      );
      // A relaxed commit is appended unsynced; every other one is synced
      // again, after a failing relaxed one too.
      const during = driver.transaction(() => {
        driver.run(`INSERT INTO t VALUES (3)`);
        return driver.all(`PRAGMA synchronous`);
      }, "relaxed");
      assert.deepEqual(during, [{ synchronous: 1 }]);
      assert.deepEqual(driver.all(`PRAGMA synchronous`), [{ synchronous: 2 }]);
      assert.throws(() =>
        driver.transaction(() => {
          throw new Error("rolled back");
        }, "relaxed"), /rolled back/);
      assert.deepEqual(driver.all(`PRAGMA synchronous`), [{ synchronous: 2 }]);
      assert.deepEqual(driver.all(`SELECT n FROM t`), [{ n: 1 }, { n: 3 }]);
      // Without WAL a commit left unsynced could break the file: synced.
      const memory = await openSqliteFile(":memory:");
      assert.deepEqual(
        memory.transaction(() => memory.all(`PRAGMA synchronous`), "relaxed"),
        [{ synchronous: 2 }],
      );
      memory.close();
      // Not the file's fault: SQLite's own error, not an InboxError.
      assert.throws(
        () => driver.run(`INSERT INTO t VALUES (1)`),
        (error: Error) =>
          !(error instanceof InboxError) && /UNIQUE/.test(error.message),
      );
      // The file's fault, each in one line naming it and what to do: a
      // database that cannot be written, one that is full.
      driver.run(`PRAGMA query_only = ON`);
      assert.throws(
        () => driver.run(`INSERT INTO t VALUES (3)`),
        (error: Error) =>
          error instanceof InboxError &&
          error.message.startsWith(`the inbox ${path}: `) &&
          error.message.endsWith(
            "; it cannot be written: check its permissions and the disk",
          ),
      );
      driver.run(`PRAGMA query_only = OFF`);
      const [{ page_count }] = driver.all<{ page_count: number }>(
        `PRAGMA page_count`,
      );
      driver.run(`PRAGMA max_page_count = ${page_count}`);
      assert.throws(
        () =>
          driver.transaction(() => {
            for (let i = 10; i < 10_000; i++) {
              driver.run(`INSERT INTO t VALUES (?)`, i);
            }
          }),
        (error: Error) =>
          error instanceof InboxError &&
          error.message.endsWith("; the disk is full: make room"),
      );
    } finally {
      driver.close();
    }
  });
});

test("an in-memory inbox makes no file, and an inbox that cannot be made is one line", async () => {
  (await openSqliteFile(":memory:")).close();
  assert.equal(existsSync(":memory:"), false, "no file named :memory:");
  await inFolder(async (dir) => {
    await assert.rejects(openInbox(dir), (error: Error) => {
      assert.ok(error instanceof InboxError);
      assert.equal(error.name, "InboxError");
      assert.match(
        error.message,
        /^the inbox .*: cannot create it \(EISDIR\); give --inbox/,
      );
      assert.ok((error as Error & { cause?: unknown }).cause instanceof Error);
      return true;
    });
    const path = join(dir, "inbox.sqlite");
    writeFileSync(path, "this is no database ".repeat(100), { mode: 0o600 });
    // Refused as it opens, not at the first statement after.
    await assert.rejects(openSqliteFile(path), (error: Error) => {
      assert.ok(error instanceof InboxError);
      assert.ok((error as Error & { cause?: unknown }).cause instanceof Error);
      return true;
    });
  });
});

test("an inbox another connection holds is one line saying so, after the busy timeout", async () => {
  await inFolder(async (dir) => {
    const path = join(dir, "inbox.sqlite");
    const holder = await openSqliteFile(path);
    const waiting = await openSqliteFile(path);
    try {
      holder.run(`CREATE TABLE t (n INTEGER)`);
      await assert.rejects(
        Promise.resolve().then(() =>
          holder.transaction(() => {
            holder.run(`INSERT INTO t VALUES (1)`);
            // The other connection wants to write meanwhile: it waits out
            // the busy timeout (5 s), then says who to wait for.
            waiting.run(`INSERT INTO t VALUES (2)`);
          })
        ),
        (error: Error) => {
          assert.ok(error instanceof InboxError, String(error));
          assert.match(error.message, /another process holds it/);
          return true;
        },
      );
    } finally {
      holder.close();
      waiting.close();
    }
  });
});

test("opening an inbox another process holds for a moment waits for it, not failing at once", async () => {
  await inFolder(async (dir) => {
    const path = join(dir, "inbox.sqlite");
    (await openInbox(path)).close();
    const holder = startScript("tests/fixtures/hold_inbox.ts", {
      args: [path, "300"],
    });
    try {
      await holder.waitFor("stdout", "holding");
      // Synchronous: blocks until the holder lets go (it exits after 300
      // ms), within the busy timeout.
      const inbox = await openInbox(path);
      assert.equal(inbox.stats().messages, 0);
      inbox.close();
    } finally {
      await holder.kill();
    }
  });
});

test("runSink's waits: 1 s growing by default, doubling per try, a finite wait without Retry-After", async () => {
  const inbox = await memoryInbox();
  const stop = new AbortController();
  const waits: number[] = [];
  const running = runSink(inbox, inbox.sink("hook", "beginning"), () => {
    // A Retry-After that is not a number is no floor.
    throw Object.assign(new Error("down"), { retryAfter: "soon" });
  }, {
    signal: stop.signal,
    maxAttempts: 8,
    sleep: (ms) => {
      waits.push(ms);
      if (waits.length === 7) stop.abort();
      return Promise.resolve();
    },
  });
  inbox.add("d1", [message(1)]);
  await running;
  assert.equal(waits.length, 7);
  assert.ok(waits.every((w) => Number.isFinite(w) && w >= 1_000), `${waits}`);
  assert.ok(waits[0] <= 2_000, `first wait ${waits[0]}`);
  // Jittered up to min·2^attempt: all seven at the floor is next to impossible.
  assert.ok(waits.some((w) => w > 1_000), `${waits}`);
  assert.ok(Math.max(...waits) <= 300_000);
  inbox.close();
});

test("runSink stopped while a message is being handed over does not count it taken, nor as a failure", async () => {
  const inbox = await memoryInbox();
  inbox.add("d1", [message(1), message(2)]);
  for (const ending of ["resolves", "rejects"]) {
    const stop = new AbortController();
    const cursor = inbox.sink(`sink-${ending}`, "beginning");
    let retried = 0;
    await runSink(inbox, cursor, () => {
      stop.abort(); // Ctrl-C while the hook runs
      if (ending === "rejects") throw new Error("killed by the stop");
    }, { signal: stop.signal, onRetry: () => retried++ });
    assert.equal(cursor.position, 0, `${ending}: given again next run`);
    assert.equal(retried, 0, `${ending}: not a failed try`);
    assert.deepEqual(inbox.deadLetters(), []);
    assert.deepEqual(bodies(cursor.next(1)), ["message 1"]);
  }
  inbox.close();
});
