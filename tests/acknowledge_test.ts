import assert from "node:assert/strict";
import { test } from "node:test";
import {
  acknowledge,
  deleteThrough,
  downloadMessages,
  login,
  LoginRequiredError,
  PushoverError,
} from "../mod.ts";
import type { Message } from "../mod.ts";
import {
  EMAIL,
  forbiddenFetch,
  newDevice,
  PASSWORD,
  rejection,
  serverTest,
} from "./_setup.ts";

serverTest(
  "acknowledge() marks the emergency message acked on every device of the user",
  async (context) => {
    const phone = await newDevice(context, "phone");
    const desk = await newDevice(context, "desk");
    const { receipt } = context.server.send({ message: "fire", priority: 2 });
    const emergency = (await downloadMessages(phone, context.api)).messages[1];
    assert.equal(emergency.acked, 0);
    assert.equal(emergency.receipt, receipt);
    await acknowledge(phone, emergency, context.api);
    const [request] = context.server.log.requests("acknowledge");
    assert.equal(request.path, `/1/receipts/${receipt}/acknowledge.json`);
    assert.deepEqual(request.body, { secret: phone.secret });
    assert.equal(
      (await downloadMessages(phone, context.api)).messages[1].acked,
      1,
    );
    assert.equal(
      (await downloadMessages(desk, context.api)).messages[1].acked,
      1,
    );
  },
);

serverTest(
  "acknowledge() works with a session and a receipt string, after the message was deleted",
  async (context) => {
    const device = await newDevice(context);
    const { receipt } = context.server.send({ message: "fire", priority: 2 });
    const [, emergency] =
      (await downloadMessages(device, context.api)).messages;
    await deleteThrough(device, emergency, context.api);
    const session = await login(
      { email: EMAIL, password: PASSWORD },
      context.api,
    );
    await acknowledge(session, receipt!, context.api);
    assert.equal(context.server.store.isPending(receipt!), false);
  },
);

serverTest(
  "acknowledge() skips a message that is already acked",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "fire", priority: 2 });
    const [, emergency] =
      (await downloadMessages(device, context.api)).messages;
    await acknowledge(device, emergency, context.api);
    const acked = (await downloadMessages(device, context.api)).messages[1];
    await acknowledge(device, acked, context.api);
    assert.equal(context.server.log.requests("acknowledge").length, 1);
    // The receipt string itself is sent again: the server answers success.
    await acknowledge(device, acked.receipt!, context.api);
    assert.equal(context.server.log.requests("acknowledge").length, 2);
  },
);

serverTest(
  "acknowledge() reports a second acknowledgement when the server calls it an error",
  async (context) => {
    const device = await newDevice(context);
    const { receipt } = context.server.send({ message: "fire", priority: 2 });
    await acknowledge(device, receipt!, context.api);
    const error = await rejection(acknowledge(device, receipt!, context.api));
    assert.ok(error instanceof PushoverError);
    assert.equal(error.status, 400);
  },
  { acknowledgeTwice: "error" },
);

for (const unknownReceiptStatus of [400, 404] as const) {
  serverTest(
    `acknowledge() rejects an unknown receipt answered ${unknownReceiptStatus} with PushoverError, a refusal, not LoginRequiredError`,
    async (context) => {
      const device = await newDevice(context);
      const error = await rejection(
        acknowledge(device, "u".repeat(30), context.api),
      );
      assert.ok(error instanceof PushoverError);
      assert.ok(!(error instanceof LoginRequiredError));
      assert.equal(error.status, unknownReceiptStatus);
      assert.equal(error.transient, false);
      assert.deepEqual(error.errors, [
        "receipt not found; may be invalid or expired",
      ]);
    },
    { unknownReceiptStatus },
  );
}

serverTest(
  "acknowledge() turns a rejected secret into LoginRequiredError",
  async (context) => {
    const { receipt } =
      (await newDevice(context),
        context.server.send({ message: "fire", priority: 2 }));
    const error = await rejection(
      acknowledge({ secret: "bad-secret" }, receipt!, context.api),
    );
    assert.ok(error instanceof LoginRequiredError);
    assert.ok(!error.message.includes("bad-secret"));
  },
);

test("acknowledge() refuses a message without receipt before any request", async () => {
  const options = { fetch: forbiddenFetch };
  const normal = { priority: 0, acked: 0 } as Message;
  await assert.rejects(acknowledge({ secret: "s" }, normal, options), {
    name: "TypeError",
    message:
      "Cannot acknowledge the message: 'receipt' is a message without a receipt (priority 0); only emergency messages can be acknowledged",
  });
  await assert.rejects(acknowledge({ secret: "s" }, "../../x", options), {
    name: "TypeError",
    message:
      "Cannot acknowledge the message: 'receipt' must be a message or a receipt of letters and digits: current value is '../../x'",
  });
});
