import assert from "node:assert/strict";
import { test } from "node:test";
import {
  deleteThrough,
  downloadMessages,
  LoginRequiredError,
  PushoverError,
} from "../mod.ts";
import type { Device } from "../mod.ts";
import { forbiddenFetch, newDevice, rejection, serverTest } from "./_setup.ts";

serverTest(
  "downloadMessages() sends secret and device_id in the query of a GET",
  async (context) => {
    const device = await newDevice(context);
    await downloadMessages(device, context.api);
    const [request] = context.server.log.requests("download");
    assert.equal(request.method, "GET");
    assert.deepEqual(request.query, {
      secret: device.secret,
      device_id: device.deviceId,
    });
    assert.deepEqual(request.body, {});
  },
);

serverTest(
  "downloadMessages() returns messages in id order with user and device info",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "first", title: "One" });
    context.server.send({ message: "second" });
    const batch = await downloadMessages(device, context.api);
    assert.deepEqual(batch.messages.map((m) => m.message.slice(0, 6)), [
      "Your d",
      "first",
      "second",
    ]);
    const ids = batch.messages.map((m) => BigInt(m.id_str));
    assert.ok(ids[0] < ids[1] && ids[1] < ids[2]);
    assert.equal(batch.user?.is_desktop_licensed, true);
    assert.equal(batch.user?.quiet_hours, false);
    assert.equal(batch.device?.default_sound, "po");
  },
);

serverTest(
  "downloadMessages() keeps conditional fields absent, never null",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "plain" });
    context.server.send({
      message: "<b>hot</b>",
      title: "t",
      url: "mailto:x@y.z",
      url_title: "mail",
      priority: 2,
      sound: "si",
      html: true,
    });
    const [, plain, rich] =
      (await downloadMessages(device, context.api)).messages;
    for (
      const field of [
        "title",
        "url",
        "url_title",
        "receipt",
        "html",
        "sound",
        "monospace",
      ]
    ) {
      assert.ok(!(field in plain), field);
    }
    assert.equal(plain.acked, 0);
    assert.equal(rich.title, "t");
    assert.equal(rich.url, "mailto:x@y.z");
    assert.equal(rich.url_title, "mail");
    assert.equal(rich.html, 1);
    assert.equal(rich.sound, "si");
    assert.match(rich.receipt ?? "", /^[A-Za-z0-9]{30}$/);
  },
);

serverTest(
  "downloadMessages() keeps 64-bit ids exact through their *_str twins",
  async (context) => {
    const device = await newDevice(context);
    const sent = context.server.send({ message: "big" });
    const [, message] = (await downloadMessages(device, context.api)).messages;
    assert.equal(message.id_str, "9007199254740995");
    assert.equal(message.umid_str, sent.umid);
    assert.ok(BigInt(message.umid_str) > 2n ** 53n);
    assert.ok(BigInt(message.aid_str) > 2n ** 53n);
    assert.equal(message.umid, Number(message.umid_str));
  },
  { firstMessageId: "9007199254740993" },
);

serverTest(
  "downloadMessages() recovers exact ids from an old server that sends no *_str twins",
  async (context) => {
    const device = await newDevice(context);
    context.server.send({ message: "old" });
    const messages = (await downloadMessages(device, context.api)).messages;
    assert.deepEqual(messages.map((m) => m.id_str), [
      "9007199254740993",
      "9007199254740995",
    ]);
    assert.equal(
      messages[1].umid_str,
      String(context.server.store.devices.get(device.deviceId)?.queue[1].umid),
    );
    // The exact id deletes exactly: a rounded double would have missed by one.
    await deleteThrough(device, messages[0], context.api);
    const left = (await downloadMessages(device, context.api)).messages;
    assert.deepEqual(left.map((m) => m.id_str), ["9007199254740995"]);
  },
  { firstMessageId: "9007199254740993", legacyIds: true },
);

serverTest(
  "downloadMessages() returns the same messages until they are deleted",
  async (context) => {
    const device = await newDevice(context);
    const first = await downloadMessages(device, context.api);
    const again = await downloadMessages(device, context.api);
    assert.deepEqual(again.messages, first.messages);
  },
);

serverTest(
  "downloadMessages() gives an empty list for an empty queue",
  async (context) => {
    const device = await newDevice(context);
    const [welcome] = (await downloadMessages(device, context.api)).messages;
    await deleteThrough(device, welcome, context.api);
    const batch = await downloadMessages(device, context.api);
    assert.deepEqual(batch.messages, []);
    assert.ok(batch.user);
  },
);

serverTest(
  "downloadMessages() keeps unknown fields and ignores unknown keys",
  async (context) => {
    const device = await newDevice(context);
    const batch = await downloadMessages(device, context.api);
    assert.deepEqual(batch.messages[0].future_message_field, {
      nested: [1, 2],
    });
    assert.equal(batch.user?.future_user_flag, true);
  },
  { extraFields: true },
);

serverTest(
  "downloadMessages() turns a rejected secret or device into LoginRequiredError",
  async (context) => {
    const device = await newDevice(context);
    const badSecret: Device = { ...device, secret: "x".repeat(60) };
    const badDevice: Device = { ...device, deviceId: "y".repeat(40) };
    for (
      const [bad, expected] of [[badSecret, "secret is invalid"], [
        badDevice,
        "device_id is invalid",
      ]] as const
    ) {
      const error = await rejection(downloadMessages(bad, context.api));
      assert.ok(error instanceof LoginRequiredError);
      assert.equal(error.status, 400);
      assert.deepEqual(error.errors, [expected]);
      assert.ok(!error.message.includes(bad.secret));
    }
  },
);

serverTest(
  "downloadMessages() refuses a device of another user",
  async (context) => {
    const mine = await newDevice(context);
    context.server.addAccount({ email: "other@example.com", password: "pw" });
    const { login } = await import("../mod.ts");
    const other = await login(
      { email: "other@example.com", password: "pw" },
      context.api,
    );
    const error = await rejection(
      downloadMessages(
        { secret: other.secret, deviceId: mine.deviceId },
        context.api,
      ),
    );
    assert.ok(error instanceof LoginRequiredError);
  },
);

serverTest(
  "downloadMessages() turns a disabled device into LoginRequiredError 403",
  async (context) => {
    const device = await newDevice(context);
    context.server.disableDevice(device.deviceId);
    const error = await rejection(downloadMessages(device, context.api));
    assert.ok(error instanceof LoginRequiredError);
    assert.equal(error.status, 403);
  },
);

serverTest(
  "downloadMessages() rejects an answer without a messages list",
  async (context) => {
    const device = await newDevice(context);
    context.server.failNext({
      type: "json",
      body: '{"status":1,"request":"r1","messages":{}}',
    });
    const error = await rejection(downloadMessages(device, context.api));
    assert.ok(error instanceof PushoverError);
    assert.equal(
      error.message,
      "Cannot download messages: the server's answer has no 'messages' list",
    );
    assert.equal(error.requestId, "r1");
  },
);

test("downloadMessages() checks the device before any request", async () => {
  const options = { fetch: forbiddenFetch };
  await assert.rejects(
    downloadMessages({ secret: "s", deviceId: "../x" }, options),
    {
      name: "TypeError",
      message:
        "Cannot download messages: 'device.deviceId' must be a string of letters and digits: current value is '../x'",
    },
  );
  await assert.rejects(downloadMessages(undefined as never, options), {
    name: "TypeError",
    message:
      "Cannot download messages: 'device' must be an object: current value is undefined",
  });
});
