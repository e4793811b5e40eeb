import assert from "node:assert/strict";
import { test } from "node:test";
import {
  downloadMessages,
  login,
  LoginRequiredError,
  PushoverError,
  registerDevice,
} from "../mod.ts";
import {
  EMAIL,
  forbiddenFetch,
  newDevice,
  PASSWORD,
  rejection,
  serverTest,
} from "./_setup.ts";

serverTest(
  "registerDevice() returns the secret and a 40-character device id",
  async (context) => {
    const session = await login(
      { email: EMAIL, password: PASSWORD },
      context.api,
    );
    const device = await registerDevice(session, "desk_top-1", context.api);
    assert.deepEqual(Object.keys(device).sort(), ["deviceId", "secret"]);
    assert.equal(device.secret, session.secret);
    assert.match(device.deviceId, /^[a-z0-9]{40}$/);
    const [request] = context.server.log.requests("register");
    assert.match(request.contentType, /^application\/x-www-form-urlencoded/);
    assert.deepEqual(request.body, {
      secret: session.secret,
      name: "desk_top-1",
      os: "O",
    });
    // The device is plain JSON: it survives a round trip and still works.
    const restored = JSON.parse(JSON.stringify(device));
    const { messages } = await downloadMessages(restored, context.api);
    assert.equal(messages.length, 1);
  },
);

serverTest(
  "registerDevice() leaves the welcome message from Pushover queued",
  async (context) => {
    const device = await newDevice(context, "welcomed");
    const { messages, device: info } = await downloadMessages(
      device,
      context.api,
    );
    assert.equal(messages.length, 1);
    const [welcome] = messages;
    assert.equal(welcome.app, "Pushover");
    assert.equal(welcome.aid, 1);
    assert.equal(welcome.aid_str, "1");
    assert.equal(welcome.icon, "pushover");
    assert.equal(welcome.priority, 0);
    assert.match(welcome.message, /welcomed/);
    assert.equal(info?.name, "welcomed");
  },
);

serverTest(
  "registerDevice() reports a taken name as PushoverError with the flattened field error",
  async (context) => {
    await newDevice(context, "twin");
    const error = await rejection(newDevice(context, "twin"));
    assert.ok(error instanceof PushoverError);
    assert.ok(!(error instanceof LoginRequiredError));
    assert.equal(error.status, 400);
    assert.deepEqual(error.errors, ["name has already been taken"]);
    assert.equal(
      error.message,
      "Cannot register the device: the server answered 400 Bad Request: name has already been taken",
    );
  },
);

serverTest(
  "registerDevice() with force takes a taken name over: a new device, the old one refused",
  async (context) => {
    const old = await newDevice(context, "twin");
    const session = await login(
      { email: EMAIL, password: PASSWORD },
      context.api,
    );
    const device = await registerDevice(session, "twin", {
      ...context.api,
      force: true,
    });
    assert.notEqual(device.deviceId, old.deviceId);
    const [, request] = context.server.log.requests("register");
    assert.equal(request.body.force, "1");
    const error = await rejection(downloadMessages(old, context.api));
    assert.ok(error instanceof LoginRequiredError);
    // Without force the parameter is not sent at all.
    const [first] = context.server.log.requests("register");
    assert.equal("force" in first.body, false);
  },
);

serverTest(
  "registerDevice() turns a rejected secret into LoginRequiredError",
  async ({ api }) => {
    const secret = "s".repeat(60);
    const error = await rejection(registerDevice({ secret }, "desk", api));
    assert.ok(error instanceof LoginRequiredError);
    assert.deepEqual(error.errors, ["secret is invalid"]);
    assert.ok(!error.message.includes(secret));
  },
);

test("registerDevice() checks the name before any request", async () => {
  const options = { fetch: forbiddenFetch };
  const session = { secret: "abc" };
  for (const name of ["", "x".repeat(26), "has space", "dot.ted", "ümlaut"]) {
    const error = await rejection(registerDevice(session, name, options));
    assert.ok(error instanceof (name === "" ? TypeError : RangeError), name);
    assert.match(
      (error as Error).message,
      /^Cannot register the device: 'name' must be/,
    );
  }
  await assert.rejects(
    registerDevice(session, 7 as unknown as string, options),
    {
      name: "TypeError",
      message:
        "Cannot register the device: 'name' must be a non-empty string: current value is 7",
    },
  );
  await assert.rejects(
    registerDevice({} as { secret: string }, "ok", options),
    {
      name: "TypeError",
      message:
        "Cannot register the device: 'session.secret' must be a non-empty string",
    },
  );
  // 25 characters of every allowed kind pass the check and reach fetch.
  await assert.rejects(
    registerDevice(session, "Az09_-" + "x".repeat(19), options),
    /no request should have been made/,
  );
});
