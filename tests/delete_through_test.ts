import assert from "node:assert/strict";
import { test } from "node:test";
import { deleteThrough, downloadMessages, LoginRequiredError } from "../mod.ts";
import type { Message } from "../mod.ts";
import { forbiddenFetch, newDevice, rejection, serverTest } from "./_setup.ts";

serverTest(
  "deleteThrough() deletes every message up to and including the one given",
  async (context) => {
    const device = await newDevice(context);
    for (const text of ["a", "b", "c"]) context.server.send({ message: text });
    const [, a, b, c] = (await downloadMessages(device, context.api)).messages;
    await deleteThrough(device, a, context.api);
    assert.deepEqual(
      (await downloadMessages(device, context.api)).messages.map((m) =>
        m.message
      ),
      ["b", "c"],
    );
    await deleteThrough(device, c, context.api);
    assert.deepEqual(
      (await downloadMessages(device, context.api)).messages,
      [],
    );
    const requests = context.server.log.requests("delete");
    assert.equal(requests.length, 2);
    assert.equal(
      requests[0].path,
      `/1/devices/${device.deviceId}/update_highest_message.json`,
    );
    assert.deepEqual(requests[1].body, {
      secret: device.secret,
      message: c.id_str,
    });
    assert.ok(b);
  },
);

serverTest(
  "deleteThrough() takes an id string or a safe integer, and a lower id is a no-op",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "x" });
    const [welcome, x] = (await downloadMessages(device, context.api)).messages;
    await deleteThrough(device, Number(welcome.id_str), context.api);
    await deleteThrough(device, "0", context.api);
    assert.deepEqual(
      (await downloadMessages(device, context.api)).messages.map((m) =>
        m.id_str
      ),
      [x.id_str],
    );
    await deleteThrough(device, "99999999999999999999", context.api);
    assert.deepEqual(
      (await downloadMessages(device, context.api)).messages,
      [],
    );
  },
);

serverTest(
  "deleteThrough() sends a 64-bit id digit for digit",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "x" });
    const [welcome] = (await downloadMessages(device, context.api)).messages;
    await deleteThrough(device, welcome, context.api);
    assert.equal(
      context.server.log.requests("delete")[0].body.message,
      "18446744073709551617",
    );
    // 2^64 + 1 as a double is 2^64: the next id (2^64 + 3) must survive.
    assert.equal(
      (await downloadMessages(device, context.api)).messages.length,
      1,
    );
  },
  { firstMessageId: "18446744073709551617" },
);

serverTest(
  "deleteThrough() turns a rejected secret into LoginRequiredError",
  async (context) => {
    const device = await newDevice(context);
    const error = await rejection(
      deleteThrough({ ...device, secret: "nope" }, "1", context.api),
    );
    assert.ok(error instanceof LoginRequiredError);
    assert.ok(!error.message.includes("nope"));
  },
);

test("deleteThrough() checks 'through' before any request", async () => {
  const device = { secret: "s", deviceId: "d" };
  const options = { fetch: forbiddenFetch };
  const cases: [unknown, string][] = [
    [2 ** 53, "9007199254740992"],
    [-1, "-1"],
    [1.5, "1.5"],
    ["12a", "'12a'"],
    ["", "''"],
    [null, "null"],
    [{ id: 5 }, "an object with id_str undefined"],
  ];
  for (const [through, shown] of cases) {
    await assert.rejects(deleteThrough(device, through as Message, options), {
      name: "TypeError",
      message:
        `Cannot delete messages: 'through' must be a message, a decimal id string or a safe integer: current value is ${shown}`,
    });
  }
});
