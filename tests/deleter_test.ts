// The stream's deleter (lib/_deleter.ts) on its own, over a fetch double:
// what it deletes, when, what it waits for, and what stopping freezes.

import assert from "node:assert/strict";
import { test } from "node:test";
import { DELETE_EVERY, DELETE_PACE, Deleter } from "../lib/_deleter.ts";
import type { PushoverError, StreamStatus } from "../mod.ts";
import { nextTurn, within } from "./_setup.ts";

/** One delete request the deleter made, answered when the test says so. */
interface Call {
  message: string;
  answer(
    status?: number,
    headers?: Record<string, string>,
    body?: Record<string, unknown>,
  ): void;
  signal: AbortSignal;
}

function harness(
  { autoDelete = true, min = 1, now }: {
    autoDelete?: boolean;
    /** The clock that paces deletes within a batch. */
    now?: () => number;
    /** The retry delay's floor (and ceiling), ms. */
    min?: number;
  } = {},
) {
  const calls: Call[] = [];
  const statuses: StreamStatus[] = [];
  const fatal: PushoverError[] = [];
  const fetch: typeof globalThis.fetch = (_input, init) =>
    new Promise((resolve, reject) => {
      const signal = init!.signal!;
      signal.addEventListener("abort", () => reject(signal.reason));
      calls.push({
        message: new URLSearchParams(String(init!.body)).get("message")!,
        signal,
        answer: (status = 200, headers = {}, body = { errors: ["no"] }) =>
          resolve(
            status === 200
              ? Response.json({ status: 1, request: "r" })
              : Response.json({ status: 0, ...body }, { status, headers }),
          ),
      });
    });
  const deleter = new Deleter({
    device: { secret: "s", deviceId: "d" },
    request: { fetch },
    retryDelay: { min, max: min, resetAfter: 60_000 },
    autoDelete,
    now,
  }, {
    fatal: (error) => fatal.push(error),
    status: (status) => statuses.push(status),
  });
  return { deleter, calls, statuses, fatal };
}

/** A few turns: what the deleter does next has happened by then. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await nextTurn();
}

test("Deleter deletes through the highest id handled, never a lower one", async () => {
  const { deleter, calls } = harness();
  deleter.handled("5");
  deleter.handled("3");
  deleter.flush();
  assert.deepEqual(calls.map((c) => c.message), ["5"]);
  calls[0].answer();
  await settle();
  deleter.handled("5"); // already deleted: nothing to do
  deleter.flush();
  assert.equal(calls.length, 1);
  deleter.handled("12"); // longer, so larger, though "12" < "5" as text
  deleter.flush();
  assert.deepEqual(calls.map((c) => c.message), ["5", "12"]);
  calls[1].answer();
  await deleter.stop(1_000);
});

test("Deleter runs one request at a time and follows up on what came meanwhile", async () => {
  const { deleter, calls } = harness();
  deleter.handled("1");
  deleter.flush();
  deleter.handled("2");
  deleter.flush(); // one is running: this waits
  assert.equal(calls.length, 1);
  calls[0].answer();
  await settle();
  assert.deepEqual(calls.map((c) => c.message), ["1", "2"]);
  calls[1].answer();
  await deleter.stop(1_000);
  assert.equal(calls.length, 2);
});

test("Deleter sends the follow-up of a delete as soon as the first is answered, without being told", async () => {
  const { deleter, calls } = harness();
  deleter.handled("4");
  deleter.flush();
  deleter.handled("6"); // the loop moved on while the first request ran
  deleter.flush(); // one at a time: nothing new yet
  assert.deepEqual(calls.map((c) => c.message), ["4"]);
  calls[0].answer();
  await settle();
  assert.deepEqual(calls.map((c) => c.message), ["4", "6"]);
  calls[1].answer();
  await deleter.stop(1_000);
});

test("Deleter sends a delete on its own within a batch once DELETE_EVERY messages and DELETE_PACE ms have passed since the last", async () => {
  let now = 0;
  const { deleter, calls } = harness({ now: () => now });
  const handle = (from: number, count: number) => {
    for (let id = from; id < from + count; id++) deleter.handled(String(id));
  };
  handle(1, DELETE_EVERY - 1);
  await settle();
  assert.equal(
    calls.length,
    0,
    "fewer than DELETE_EVERY: the batch's end decides",
  );
  handle(DELETE_EVERY, 1); // none went out before: at once
  assert.deepEqual(calls.map((c) => c.message), [String(DELETE_EVERY)]);
  calls[0].answer();
  await settle();
  // Many more at once (a fast consumer): paced, one a DELETE_PACE.
  now += DELETE_PACE - 1;
  handle(DELETE_EVERY + 1, 3 * DELETE_EVERY);
  await settle();
  assert.equal(calls.length, 1, "a fast burst waits for the pace");
  now += 1;
  handle(4 * DELETE_EVERY + 1, 1);
  assert.deepEqual(calls.map((c) => c.message), [
    String(DELETE_EVERY),
    String(4 * DELETE_EVERY + 1),
  ]);
  calls[1].answer();
  await settle();
  // The count starts again from the delete that went out.
  now += DELETE_PACE;
  handle(4 * DELETE_EVERY + 2, DELETE_EVERY - 1);
  await settle();
  assert.equal(calls.length, 2);
  handle(5 * DELETE_EVERY + 1, 1);
  assert.equal(calls.length, 3);
  calls[2].answer();
  await deleter.stop(1_000);
});

test("Deleter with autoDelete false never deletes", async () => {
  const { deleter, calls } = harness({ autoDelete: false });
  deleter.handled("9");
  deleter.flush();
  await deleter.stop(1_000);
  assert.equal(calls.length, 0);
});

test("Deleter.stop() freezes the target: what is handled after it is not deleted", async () => {
  const { deleter, calls } = harness();
  deleter.handled("1");
  deleter.flush(); // in flight while stopping begins
  deleter.handled("2");
  const stopped = deleter.stop(1_000);
  deleter.handled("3"); // after stop: ignored
  calls[0].answer();
  await settle();
  assert.deepEqual(calls.map((c) => c.message), ["1", "2"]);
  calls[1].answer();
  await stopped;
  assert.equal(calls.length, 2);
});

test("Deleter.stop() deletes at once what was handled and not flushed", async () => {
  const { deleter, calls } = harness();
  deleter.handled("7");
  const stopped = deleter.stop(1_000);
  await settle();
  assert.deepEqual(calls.map((c) => c.message), ["7"]);
  calls[0].answer();
  await stopped;
});

test("Deleter.stop() gives a request up after the grace, aborting it", async () => {
  const { deleter, calls, fatal, statuses } = harness();
  deleter.handled("1");
  deleter.flush();
  await within(deleter.stop(20), "stop() within the grace", 2_000);
  assert.equal(calls[0].signal.aborted, true);
  await settle();
  assert.deepEqual(fatal, []);
  assert.deepEqual(statuses, []);
});

test("Deleter retries a passing failure after its delay, reporting it, and not sooner", async () => {
  const { deleter, calls, statuses } = harness({ min: 60_000 });
  deleter.handled("3");
  deleter.flush();
  calls[0].answer(503);
  await settle();
  assert.equal(statuses.length, 1);
  const [first] = statuses;
  assert.ok(first.state === "retrying");
  assert.equal(first.attempt, 1);
  assert.equal(first.delay, 60_000);
  assert.match(
    first.reason,
    /^Cannot delete messages: the server answered 503/,
  );
  deleter.flush(); // a retry is waiting: no second request meanwhile
  await settle();
  assert.equal(calls.length, 1);
  // Stopping cancels the waiting retry and makes one last attempt at once.
  const stopped = deleter.stop(1_000);
  await settle();
  assert.equal(calls.length, 2);
  calls[1].answer();
  await stopped;
  assert.equal(statuses.length, 1);
});

test("Deleter's retries take Retry-After as a floor and count their attempts", async () => {
  const { deleter, calls, statuses } = harness();
  deleter.handled("3");
  deleter.flush();
  calls[0].answer(503);
  await within(
    (async () => {
      while (calls.length < 2) await nextTurn();
    })(),
    "the retry",
  );
  calls[1].answer(429, { "retry-after": "0.05" });
  await settle();
  const second = statuses[1];
  assert.ok(second.state === "retrying");
  assert.equal(second.attempt, 2);
  assert.equal(second.delay, 50);
  await deleter.stop(1_000);
});

test("Deleter hands a refusal to fatal and does not retry it", async () => {
  const { deleter, calls, statuses, fatal } = harness();
  deleter.handled("3");
  deleter.flush();
  calls[0].answer(400);
  await settle();
  assert.equal(fatal.length, 1);
  assert.equal(fatal[0].status, 400);
  assert.deepEqual(statuses, []);
  assert.equal(calls.length, 1, "a refusal is not tried again by itself");
  deleter.flush();
  await settle();
  assert.equal(calls.length, 2, "a later flush may try again");
  calls[1].answer();
  await deleter.stop(1_000);
});

test("Deleter takes a refused retry of a delete that failed passingly (it may have gone through) as done; a refusal of the secret still stops", async () => {
  const { deleter, calls, fatal } = harness();
  deleter.handled("5");
  deleter.flush();
  calls[0].answer(503); // applied, perhaps: its answer says nothing sure
  await within(
    (async () => {
      while (calls.length < 2) await nextTurn();
    })(),
    "the retry",
  );
  assert.equal(calls[1].message, "5");
  calls[1].answer(400, {}, {
    message: "invalid",
    errors: ["nothing to delete"],
  });
  await settle();
  assert.equal(fatal.length, 0, "done, not a failure");
  deleter.handled("7");
  deleter.flush();
  assert.deepEqual(calls.map((c) => c.message), ["5", "5", "7"]);
  calls[2].answer(503);
  await within(
    (async () => {
      while (calls.length < 4) await nextTurn();
    })(),
    "the second retry",
  );
  calls[3].answer(400, {}, {
    secret: "invalid",
    errors: ["secret is invalid"],
  });
  await settle();
  assert.equal(fatal.length, 1);
  assert.equal(fatal[0].name, "LoginRequiredError");
  await deleter.stop(10); // its last delete, never answered here, given up
});
