// What every REST call does at its edges: refusals told by their meaning,
// not their status line; anything a custom fetch throws turned into a
// PushoverError without a secret; bounded error text; no listener left.

import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import {
  deleteThrough,
  downloadMessages,
  login,
  LoginRequiredError,
  PushoverError,
  registerDevice,
} from "../mod.ts";
import { sleep } from "../lib/_wakeup.ts";
import { newDevice, rejection, serverTest } from "./_setup.ts";

const SECRET = "s".repeat(30) + "3cr3t" + "s".repeat(25);
const DEVICE = { secret: SECRET, deviceId: "d3v1ce" };

/** A fetch that answers every request with this status and JSON body. */
function answering(status: number, body: unknown): typeof fetch {
  return () =>
    Promise.resolve(
      new Response(JSON.stringify(body), {
        status,
        headers: { "content-type": "application/json" },
      }),
    );
}

for (
  const [name, status, body, kind] of [
    ["a 200 with status 0 rejecting the secret", 200, {
      status: 0,
      secret: "invalid",
      errors: ["secret is invalid"],
    }, "login"],
    ["a 200 with status 0 rejecting the device", 200, {
      status: 0,
      device: "invalid",
      errors: ["device is invalid"],
    }, "login"],
    ["a 503 with status 0 rejecting the secret", 503, {
      status: 0,
      secret: "invalid",
    }, "login"],
    ["a 400 rejecting the secret", 400, {
      status: 0,
      secret: "invalid",
      errors: ["secret is invalid"],
    }, "login"],
    ["a 200 with status 0 and another reason", 200, {
      status: 0,
      errors: ["over quota"],
    }, "refusal"],
    ['a 200 whose status is the string "1"', 200, {
      status: "1",
      secret: "s",
      messages: [],
    }, "passing"],
    ["a 200 without any status", 200, { messages: [] }, "passing"],
    ["a 429 that names the device", 429, {
      status: 0,
      errors: ["too many requests for this device"],
    }, "passing"],
    ["a 503 with status 0 and another reason", 503, {
      status: 0,
      errors: ["maintenance"],
    }, "passing"],
    ["a 200 with a success-shaped secret but status 0", 200, {
      status: 0,
      secret: "abc",
      errors: ["try later"],
    }, "refusal"],
  ] as const
) {
  test(`downloadMessages() classifies ${name} as ${kind}`, async () => {
    const error = await rejection(
      downloadMessages(DEVICE, { fetch: answering(status, body) }),
    );
    assert.ok(error instanceof PushoverError, String(error));
    assert.equal(error.status, status);
    assert.equal(error instanceof LoginRequiredError, kind === "login");
    assert.equal(error.transient, kind === "passing");
  });
}

/** Thrown values a custom fetch may reject with, each naming the URL. */
const HOSTILE_THROWS: [string, (url: string) => unknown][] = [
  [
    "a DOMException",
    (url) => new DOMException(`failed ${url}`, "NetworkError"),
  ],
  [
    "a frozen TypeError",
    (url) => Object.freeze(new TypeError(`failed ${url}`)),
  ],
  ["an error whose name is a getter", (url) => {
    const error = new Error(`failed ${url}`);
    Object.defineProperty(error, "name", { get: () => "Getter" });
    return error;
  }],
  ["an error with a cause cycle", (url) => {
    const error = new Error(`failed ${url}`);
    const inner = new Error(`inner ${url}`, { cause: error });
    (error as { cause?: unknown }).cause = inner;
    return error;
  }],
  [
    "an error with a URL object property",
    (url) => Object.assign(new Error("failed"), { url: new URL(url) }),
  ],
  [
    "an error with a nested object naming the URL",
    (url) =>
      Object.assign(new Error("failed"), { request: { url, headers: [url] } }),
  ],
  ["an object with no prototype", () => Object.create(null)],
  ["a string naming the URL", (url) => `failed ${url}`],
  ["an error whose message getter throws", () => {
    const error = new Error("x");
    Object.defineProperty(error, "message", {
      get: () => {
        throw new Error("boom");
      },
    });
    return error;
  }],
  ["a symbol", () => Symbol("odd")],
];

for (const [name, make] of HOSTILE_THROWS) {
  test(`a fetch rejecting with ${name} becomes a passing PushoverError without the secret`, async () => {
    const leaky: typeof fetch = (input) => Promise.reject(make(String(input)));
    const error = await rejection(downloadMessages(DEVICE, { fetch: leaky }));
    assert.ok(error instanceof PushoverError, String(error));
    assert.match(error.message, /^Cannot download messages: the request to /);
    assert.equal(error.transient, true);
    for (
      const text of [
        error.message,
        String(error),
        String(error.stack),
        inspect(error, { depth: null }),
      ]
    ) {
      assert.ok(!text.includes("3cr3t"), text);
    }
  });
}

test("the server's errors are quoted briefly in the message, and kept bounded", async () => {
  const errors = Array.from(
    { length: 100_000 },
    (_, i) => `error ${i} ${"x".repeat(30)}`,
  );
  errors[0] = "y".repeat(5_000);
  const error = await rejection(
    downloadMessages(DEVICE, { fetch: answering(400, { status: 0, errors }) }),
  ) as PushoverError;
  assert.ok(error.message.length < 1_000, `${error.message.length} characters`);
  assert.match(error.message, /… and 99997 more$/);
  assert.match(error.message, /: y{200}…; error 1 x+; error 2 x+ … and/);
  assert.equal(error.errors.length, 100);
  assert.equal(error.errors[0].length, 1_000);
});

test("a secret a server echoes in its status line's reason or in a request id is redacted", async () => {
  const statusLine = await rejection(
    downloadMessages(DEVICE, {
      fetch: () =>
        Promise.resolve(
          new Response("<html>", { status: 502, statusText: `Bad ${SECRET}` }),
        ),
    }),
  ) as PushoverError;
  assert.match(statusLine.message, /answered 502 Bad \[redacted\] with/);
  const bare = await rejection(
    downloadMessages(DEVICE, {
      fetch: () => Promise.resolve(new Response("<html>", { status: 502 })),
    }),
  ) as PushoverError;
  assert.match(bare.message, /answered 502 with a body that is not JSON$/);
  const requestId = await rejection(
    downloadMessages(DEVICE, {
      fetch: answering(200, { status: 1, request: `echo ${SECRET}` }),
    }),
  ) as PushoverError;
  assert.equal(requestId.requestId, "echo [redacted]");
  assert.ok(!inspect(requestId).includes(SECRET));
  // A login's answer without a user key, echoing the password and the code.
  const password = "pa55-w0rd-echoed";
  const loggingIn = await rejection(
    login({ email: "a@b.c", password, twofa: "123456" }, {
      fetch: answering(200, {
        status: 1,
        id: "",
        secret: "s",
        request: `echo ${password} 123456`,
      }),
    }),
  ) as PushoverError;
  assert.equal(
    loggingIn.message,
    "Cannot log in: the server's answer is missing expected fields",
  );
  assert.equal(loggingIn.requestId, "echo [redacted] [redacted]");
  // A device id that is not letters and digits to its end.
  const registering = await rejection(
    registerDevice({ secret: SECRET }, "box", {
      fetch: answering(200, {
        status: 1,
        id: "abc-!",
        request: `echo ${SECRET}`,
      }),
    }),
  ) as PushoverError;
  assert.equal(
    registering.message,
    "Cannot register the device: the server's answer has no valid device 'id'",
  );
  assert.equal(registering.requestId, "echo [redacted]");
});

/** A signal that counts the listeners added to it and not yet removed. */
function countingSignal() {
  const controller = new AbortController();
  const { signal } = controller;
  const counter = { listening: 0, controller, signal };
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    counter.listening++;
    add(...args);
  }) as typeof add;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    counter.listening--;
    remove(...args);
  }) as typeof remove;
  return counter;
}

test("a request removes its listener from the caller's signal, whatever the outcome", async () => {
  const counter = countingSignal();
  const { signal } = counter;
  const ok = answering(200, { status: 1, messages: [] });
  await downloadMessages(DEVICE, { fetch: ok, signal });
  await rejection(
    downloadMessages(DEVICE, { fetch: answering(500, {}), signal }),
  );
  await rejection(
    deleteThrough(DEVICE, "1", {
      fetch: () => Promise.reject(new TypeError("offline")),
      signal,
    }),
  );
  assert.equal(counter.listening, 0);
});

test("sleep() removes its abort listener once the time is up, and when cut short", async () => {
  const counter = countingSignal();
  await sleep(1, counter.signal);
  assert.equal(counter.listening, 0);
  const cut = sleep(60_000, counter.signal);
  counter.controller.abort();
  await cut;
  assert.equal(counter.listening, 0);
});

serverTest(
  "downloadMessages() against the fake: a 200 refusing the secret is a LoginRequiredError",
  async (context) => {
    const device = await newDevice(context);
    context.server.failNext({
      type: "json",
      status: 200,
      body: '{"status":0,"secret":"invalid","errors":["secret is invalid"]}',
    }, { endpoint: "download" });
    const error = await rejection(downloadMessages(device, context.api));
    assert.ok(error instanceof LoginRequiredError, String(error));
  },
);

test("a fetch error showing no secret is kept as the cause as it is, the same object", async () => {
  const offline = new TypeError("network unreachable");
  const error = await rejection(
    downloadMessages(DEVICE, { fetch: () => Promise.reject(offline) }),
  ) as PushoverError;
  assert.equal(error.cause, offline);
});

test("a DOMException naming the URL becomes a DOMException of the same name without the secret", async () => {
  const leaky: typeof fetch = (input) =>
    Promise.reject(new DOMException(`failed ${String(input)}`, "NetworkError"));
  const error = await rejection(downloadMessages(DEVICE, { fetch: leaky }));
  const cause = (error as PushoverError).cause;
  assert.ok(cause instanceof DOMException, String(cause));
  assert.equal(cause.name, "NetworkError");
  assert.match(cause.message, /secret=\[redacted\]&device_id=d3v1ce/);
});

test("a TypeError naming the URL in a property keeps its class, other properties and cause", async () => {
  const inner = new RangeError("inner, no secret");
  const leaky: typeof fetch = (input) =>
    Promise.reject(
      Object.assign(new TypeError("failed", { cause: inner }), {
        code: "ECONNRESET",
        path: String(input),
      }),
    );
  const error = await rejection(downloadMessages(DEVICE, { fetch: leaky }));
  const cause = (error as PushoverError).cause as TypeError & {
    code: string;
    path: string;
  };
  assert.ok(cause instanceof TypeError);
  assert.equal(cause.name, "TypeError");
  assert.equal(cause.code, "ECONNRESET");
  assert.match(cause.path, /secret=\[redacted\]/);
  assert.equal(cause.cause, inner);
  assert.ok(!String(cause.stack).includes("3cr3t"));
});

/** Every status line against every kind of body: login, refusal or passing. */
const CLASSIFY: [body: unknown, byStatus: Record<number, string>][] = [
  [{ status: 0, secret: "invalid", errors: ["secret is invalid"] }, {
    200: "login",
    400: "login",
    408: "passing",
    429: "passing",
    500: "login",
    503: "login",
  }],
  [{ status: 0, errors: ["over quota"] }, {
    200: "refusal",
    400: "refusal",
    403: "refusal",
    408: "passing",
    429: "passing",
    500: "passing",
  }],
  [{ errors: ["secret is invalid"] }, {
    200: "passing",
    400: "login",
    403: "login",
    408: "passing",
    429: "passing",
    500: "passing",
  }],
  [{ status: "0", secret: "invalid" }, {
    200: "passing",
    400: "login",
    503: "passing",
  }],
  [{ status: 0, secret: "abc" }, {
    200: "refusal",
    400: "login",
    502: "passing",
  }],
  [{ status: 2, device: "disabled" }, { 200: "login", 499: "login" }],
  [{ status: 0, errors: { device: ["is invalid"] } }, {
    200: "login",
    400: "login",
  }],
  [{ status: 0, errors: ["device limit reached"] }, {
    200: "refusal",
    400: "login",
    500: "passing",
  }],
  [{ status: 0, errors: ["the device_id was not found"] }, { 200: "login" }],
  [{ status: 0, device_id: "invalid" }, { 200: "login", 404: "login" }],
  [{ status: 0, device_id: "INVALID" }, { 200: "login" }],
  [{ status: 0, device_id: "invalid-ish" }, { 200: "refusal" }],
  ["<html>not json</html>", {
    200: "passing",
    404: "refusal",
    408: "passing",
    429: "passing",
    503: "passing",
  }],
];

for (const [body, byStatus] of CLASSIFY) {
  for (const [status, kind] of Object.entries(byStatus)) {
    test(`a ${status} with ${JSON.stringify(body)} is ${kind}`, async () => {
      const fetch: typeof globalThis.fetch = () =>
        Promise.resolve(
          new Response(typeof body === "string" ? body : JSON.stringify(body), {
            status: Number(status),
          }),
        );
      const error = await rejection(downloadMessages(DEVICE, { fetch }));
      assert.ok(error instanceof PushoverError, String(error));
      const got = error instanceof LoginRequiredError
        ? "login"
        : error.transient
        ? "passing"
        : "refusal";
      assert.equal(got, kind);
    });
  }
}

test("the quote of a server error is cut after 200 characters, not at 200", async () => {
  for (const [length, cut] of [[200, false], [201, true]] as const) {
    const error = await rejection(
      downloadMessages(DEVICE, {
        fetch: answering(400, { status: 0, errors: ["e".repeat(length)] }),
      }),
    ) as PushoverError;
    assert.equal(error.message.endsWith("…"), cut, String(length));
  }
});

test("Retry-After is read as seconds or an HTTP date; blank, bad or past ones give no wait", async () => {
  const cases: [string, (ms: number | undefined) => boolean][] = [
    ["7", (ms) => ms === 7_000],
    ["0", (ms) => ms === 0],
    ["  ", (ms) => ms === undefined],
    ["soon", (ms) => ms === undefined],
    [
      new Date(Date.now() + 60_000).toUTCString(),
      (ms) => ms! > 50_000 && ms! <= 60_000,
    ],
    [new Date(Date.now() - 60_000).toUTCString(), (ms) => ms === 0],
  ];
  for (const [header, ok] of cases) {
    const error = await rejection(
      downloadMessages(DEVICE, {
        fetch: () =>
          Promise.resolve(
            new Response("{}", {
              status: 429,
              headers: { "retry-after": header },
            }),
          ),
      }),
    ) as PushoverError;
    assert.ok(
      ok(error.retryAfter),
      `${JSON.stringify(header)} → ${error.retryAfter}`,
    );
  }
});

test("'timeout' takes the largest timer and Infinity, and refuses one above it", async () => {
  const ok = answering(200, { status: 1, messages: [] });
  await downloadMessages(DEVICE, { fetch: ok, timeout: 2 ** 31 - 1 });
  await downloadMessages(DEVICE, { fetch: ok, timeout: Infinity });
  await assert.rejects(
    downloadMessages(DEVICE, { fetch: ok, timeout: 2 ** 31 }),
    { name: "RangeError" },
  );
  await assert.rejects(
    downloadMessages(DEVICE, { fetch: ok, timeout: "30" as never }),
    { name: "RangeError" },
  );
});
