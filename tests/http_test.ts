// Behaviour every primitive shares: timeouts, aborts, unreadable answers,
// network failures, URL safety and keeping secrets out of errors.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  downloadMessages,
  login,
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
  "a request that gets no answer fails after 'timeout' ms with the timeout as cause",
  async (context) => {
    const device = await newDevice(context);
    context.server.failNext({ type: "hang" });
    const error = await rejection(
      downloadMessages(device, { ...context.api, timeout: 30 }),
    );
    assert.ok(error instanceof PushoverError);
    assert.equal(error.status, undefined);
    assert.match(
      error.message,
      /^Cannot download messages: no answer from 127\.0\.0\.1:\d+ within 30 ms$/,
    );
    assert.ok(error.cause instanceof DOMException, String(error.cause));
    assert.equal(error.cause.name, "TimeoutError");
  },
);

serverTest("a slow answer within 'timeout' succeeds", async (context) => {
  const device = await newDevice(context);
  context.server.failNext({ type: "delay", ms: 20 });
  const batch = await downloadMessages(device, {
    ...context.api,
    timeout: 5_000,
  });
  assert.equal(batch.messages.length, 1);
});

serverTest(
  "an abort through 'signal' rejects with signal.reason unchanged",
  async (context) => {
    const device = await newDevice(context);
    context.server.failNext({ type: "hang" });
    const controller = new AbortController();
    const reason = new Error("user gave up");
    const pending = downloadMessages(device, {
      ...context.api,
      signal: controller.signal,
    });
    await context.server.log.waitFor((e) =>
      e.kind === "http" && e.endpoint === "download"
    );
    controller.abort(reason);
    assert.equal(await rejection(pending), reason);
  },
);

test("an already aborted 'signal' rejects before any request", async () => {
  const controller = new AbortController();
  controller.abort("stop");
  const error = await rejection(
    login({ email: "a@b.c", password: "pw" }, {
      signal: controller.signal,
      fetch: forbiddenFetch,
    }),
  );
  assert.equal(error, "stop");
});

serverTest(
  "a 5xx HTML page becomes PushoverError naming the status",
  async (context) => {
    const device = await newDevice(context);
    context.server.failNext({ type: "status", status: 502 });
    const error = await rejection(downloadMessages(device, context.api));
    assert.ok(error instanceof PushoverError);
    assert.equal(error.status, 502);
    assert.deepEqual(error.errors, []);
    assert.equal(
      error.message,
      "Cannot download messages: the server answered 502 Bad Gateway with a body that is not JSON",
    );
  },
);

serverTest("a 429 carries Retry-After as milliseconds", async (context) => {
  const device = await newDevice(context);
  context.server.failNext({
    type: "status",
    status: 429,
    retryAfter: "7",
    body: '{"status":0,"errors":["slow down"]}',
    contentType: "application/json",
  });
  const error = await rejection(downloadMessages(device, context.api));
  assert.ok(error instanceof PushoverError);
  assert.equal(error.status, 429);
  assert.equal(error.retryAfter, 7000);
  assert.deepEqual(error.errors, ["slow down"]);
});

serverTest(
  "a 200 whose JSON says status 0 is still a failure",
  async (context) => {
    const device = await newDevice(context);
    context.server.failNext({
      type: "json",
      body: '{"status":0,"request":"req-9","errors":["odd"]}',
    });
    const error = await rejection(downloadMessages(device, context.api));
    assert.ok(error instanceof PushoverError);
    assert.equal(error.status, 200);
    assert.equal(error.requestId, "req-9");
  },
);

serverTest(
  "an unknown path gets the site's HTML 404, reported as such",
  async (context) => {
    const error = await rejection(
      login({ email: EMAIL, password: PASSWORD }, {
        ...context.api,
        apiUrl: `${context.server.assetUrl}/2`,
      }),
    );
    assert.ok(error instanceof PushoverError);
    assert.equal(error.status, 404);
    assert.match(error.message, /404 Not Found with a body that is not JSON$/);
  },
);

serverTest(
  "a refused connection becomes PushoverError with the network error as cause",
  async (context) => {
    const apiUrl = context.server.apiUrl;
    await context.server.close();
    const error = await rejection(
      login({ email: EMAIL, password: PASSWORD }, { apiUrl }),
    );
    assert.ok(error instanceof PushoverError);
    assert.match(
      error.message,
      /^Cannot log in: the request to 127\.0\.0\.1:\d+ failed: /,
    );
    assert.ok(error.cause instanceof Error);
  },
);

test("secrets in a fetch error's URL are redacted from the message, stack and cause", async () => {
  const secret = "q".repeat(60);
  const leakyFetch: typeof fetch = (input) => {
    throw new TypeError(`error sending request for url (${String(input)})`);
  };
  const error = await rejection(
    downloadMessages({ secret, deviceId: "d1" }, { fetch: leakyFetch }),
  );
  assert.ok(error instanceof PushoverError);
  const cause = error.cause as Error;
  assert.ok(cause instanceof TypeError);
  for (
    const text of [
      error.message,
      String(error),
      error.stack,
      cause.message,
      cause.stack,
    ]
  ) {
    assert.ok(!String(text).includes(secret), String(text));
  }
  assert.match(cause.message, /secret=\[redacted\]&device_id=d1/);
});

test("passwords and codes echoed by a server are redacted from errors", async () => {
  const echoing: typeof fetch = (_input, init) => {
    const form = new URLSearchParams(String(init?.body));
    return Promise.resolve(
      Response.json({
        status: 0,
        errors: [
          `bad password ${form.get("password")} or code ${form.get("twofa")}`,
        ],
      }, { status: 400 }),
    );
  };
  const error = await rejection(
    login({ email: "a@b.c", password: "hunter2-secret", twofa: "654321" }, {
      fetch: echoing,
    }),
  );
  assert.ok(error instanceof PushoverError);
  assert.deepEqual(error.errors, [
    "bad password [redacted] or code [redacted]",
  ]);
  assert.ok(
    !error.message.includes("hunter2-secret") &&
      !error.message.includes("654321"),
  );
});

test("plain http is refused unless the host is loopback", async () => {
  const credentials = { email: "a@b.c", password: "pw" };
  for (
    const apiUrl of [
      "http://api.pushover.net/1",
      "http://10.0.0.1/1",
      "ws://127.0.0.1/1",
    ]
  ) {
    await assert.rejects(
      login(credentials, { apiUrl, fetch: forbiddenFetch }),
      {
        name: "TypeError",
        message: new RegExp(
          `^Cannot log in: 'apiUrl' must use https:// \\(http:// only for loopback hosts\\)`,
        ),
      },
    );
  }
  await assert.rejects(
    login(credentials, { apiUrl: "not a url", fetch: forbiddenFetch }),
    {
      name: "TypeError",
      message:
        "Cannot log in: 'apiUrl' must be a valid URL: current value is 'not a url'",
    },
  );
  for (
    const apiUrl of [
      "http://localhost:1/1",
      "http://127.8.9.10/1",
      "http://[::1]:9/1",
      "https://example.com/1/",
    ]
  ) {
    await assert.rejects(
      login(credentials, { apiUrl, fetch: forbiddenFetch }),
      /no request should have been made/,
    );
  }
});

test("the default apiUrl is the real service, reached over https", async () => {
  let seen = "";
  const recording: typeof fetch = (input) => {
    seen = String(input);
    return Promise.resolve(
      Response.json({ status: 1, request: "r", id: "u", secret: "s" }),
    );
  };
  await login({ email: "a@b.c", password: "pw" }, { fetch: recording });
  assert.equal(seen, "https://api.pushover.net/1/users/login.json");
});

test("'timeout' must be a positive number", async () => {
  for (const timeout of [0, -5, Number.NaN]) {
    await assert.rejects(
      login({ email: "a@b.c", password: "pw" }, {
        timeout,
        fetch: forbiddenFetch,
      }),
      {
        name: "RangeError",
        message:
          `Cannot log in: 'timeout' must be a positive number of milliseconds up to 2147483647, or Infinity: current value is ${timeout}`,
      },
    );
  }
});

test("a missing global fetch is reported, naming the option", async () => {
  const saved = globalThis.fetch;
  try {
    // deno-lint-ignore no-explicit-any
    (globalThis as any).fetch = undefined;
    await assert.rejects(registerDevice({ secret: "s" }, "name"), {
      name: "TypeError",
      message:
        "Cannot register the device: this runtime has no global fetch, pass one as the 'fetch' option",
    });
  } finally {
    globalThis.fetch = saved;
  }
});
