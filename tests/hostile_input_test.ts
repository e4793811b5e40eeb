// Hostile input: what a broken, outdated or malicious server may answer, end
// to end against the fake (REST faults) or through a WebSocket double (frames
// the fake never sends). Every case must end in a typed error or be ignored:
// no crash, no unhandled rejection, and a stream deletes nothing its consumer
// did not receive.

import assert from "node:assert/strict";
import process from "node:process";
import { test } from "node:test";
import {
  acknowledge,
  deleteThrough,
  downloadMessages,
  login,
  LoginRequiredError,
  PushoverError,
  registerDevice,
  TwoFactorRequiredError,
} from "../mod.ts";
import type { Message, StreamStatus } from "../mod.ts";
import type { FakeServer, RequestFault } from "../testing/mod.ts";
import {
  type Context,
  EMAIL,
  newDevice,
  nextTurn,
  PASSWORD,
  queued,
  recordingFetch,
  rejection,
  serverTest,
  take,
  within,
} from "./_setup.ts";
import { HandSocket, watchUnhandledRejections } from "./_doubles.ts";
import { primitives } from "./_primitives.ts";

// Rejections nobody handled while this file's tests run fail its last test.
// Watched from its first test, not its import: where Node runs many files in
// one process (--experimental-test-isolation=none), other files' tests run
// between the two, and their rejections are theirs.
let rejections: ReturnType<typeof watchUnhandledRejections>;
test("unhandled rejections are watched from the hostile corpus's first test on", () => {
  const before = process.listenerCount("unhandledRejection");
  rejections = watchUnhandledRejections();
  assert.equal(process.listenerCount("unhandledRejection"), before + 1);
});

// ---- helpers ----

/** A well-formed message of the modern shape, id given as a decimal string. */
function message(id: string, fields: Record<string, unknown> = {}) {
  return {
    id: Number(id),
    id_str: id,
    message: `body ${id}`,
    app: "Hostile",
    aid: 2,
    aid_str: "2",
    icon: "default",
    date: 1700000000,
    priority: 0,
    acked: 0,
    umid: 900 + Number(id),
    umid_str: String(900 + Number(id)),
    ...fields,
  };
}

/** The text of a `status: 1` download answer holding `messages`. */
function batch(messages: unknown, extra: Record<string, unknown> = {}) {
  return JSON.stringify({ messages, ...extra, status: 1, request: "req-h" });
}

/** The download answers with `body` (status 200 unless given) once. */
function answerDownload(server: FakeServer, body: string, status = 200) {
  server.failNext({ type: "json", status, body }, { endpoint: "download" });
}

/** Every delete the fake saw went through an id the consumer received. */
function assertDeletedOnlyReceived(server: FakeServer, received: Message[]) {
  const ids = new Set(received.map((m) => m.id_str));
  for (const request of server.log.requests("delete")) {
    assert.ok(
      ids.has(request.params.message),
      `deleted through ${request.params.message}, but the consumer received only ${
        [...ids].join(", ") || "nothing"
      }`,
    );
  }
}

function statusLog() {
  const statuses: StreamStatus[] = [];
  return { statuses, onStatus: (s: StreamStatus) => void statuses.push(s) };
}

function retryReasons(statuses: StreamStatus[]): string[] {
  return statuses.flatMap((s) => s.state === "retrying" ? [s.reason] : []);
}

// ---- every REST primitive against broken envelopes ----

const PRIMITIVES = primitives({
  credentials: { email: EMAIL, password: PASSWORD },
  signIn: ({ api }) => login({ email: EMAIL, password: PASSWORD }, api),
  newDevice,
}).map((primitive) => ({
  ...primitive,
  /** Sets up what the call needs (untouched by the fault), then makes it. */
  call: async (context: Context) => (await primitive.prepare(context)).run(),
}));

interface EnvelopeCase {
  name: string;
  fault: RequestFault;
  status: number;
  /** The message after "Cannot {action}: ". */
  ending: string;
}

const NOT_JSON_200 = "the server answered 200 OK with a body that is not JSON";

const ENVELOPES: EnvelopeCase[] = [
  {
    name: "a 200 HTML page",
    fault: { type: "status", status: 200 },
    status: 200,
    ending: NOT_JSON_200,
  },
  {
    name: "a 502 HTML error page",
    fault: { type: "status", status: 502 },
    status: 502,
    ending: "the server answered 502 Bad Gateway with a body that is not JSON",
  },
  {
    name: "a non-JSON 404",
    fault: {
      type: "status",
      status: 404,
      body: "Not Found",
      contentType: "text/plain",
    },
    status: 404,
    ending: "the server answered 404 Not Found with a body that is not JSON",
  },
  {
    name: "malformed JSON",
    fault: { type: "json", body: '{"status":1,"request":"r","messages":[{' },
    status: 200,
    ending: NOT_JSON_200,
  },
  {
    name: "an empty body",
    fault: { type: "json", body: "" },
    status: 200,
    ending: NOT_JSON_200,
  },
  {
    name: "a JSON null",
    fault: { type: "json", body: "null" },
    status: 200,
    ending: NOT_JSON_200,
  },
  {
    name: "a JSON array",
    fault: { type: "json", body: '[{"status":1}]' },
    status: 200,
    ending: NOT_JSON_200,
  },
  {
    name: 'a status given as the string "1"',
    fault: {
      type: "json",
      body: '{"status":"1","request":"r","id":"u","secret":"s","messages":[]}',
    },
    status: 200,
    ending: "the server answered 200 OK",
  },
  {
    name: "status 1 on a 500",
    fault: { type: "json", status: 500, body: '{"status":1,"request":"r"}' },
    status: 500,
    ending: "the server answered 500 Internal Server Error",
  },
  {
    name: "'errors' that is a number",
    fault: {
      type: "json",
      status: 400,
      body: '{"status":0,"request":"r","errors":42}',
    },
    status: 400,
    ending: "the server answered 400 Bad Request",
  },
];

for (const primitive of PRIMITIVES) {
  for (const envelope of ENVELOPES) {
    serverTest(
      `${primitive.name} rejects ${envelope.name} with PushoverError`,
      async (context) => {
        context.server.failNext(envelope.fault, {
          endpoint: primitive.endpoint,
        });
        const error = await rejection(primitive.call(context));
        assert.ok(error instanceof PushoverError, String(error));
        assert.equal(error.name, "PushoverError");
        assert.equal(error.status, envelope.status);
        assert.deepEqual(error.errors, []);
        assert.equal(
          error.message,
          `Cannot ${primitive.action}: ${envelope.ending}`,
        );
        const seen = context.server.log.requests(primitive.endpoint);
        assert.equal(seen.at(-1)?.status, envelope.status);
      },
    );
  }
}

// ---- downloadMessages(): answers of the wrong shape ----

const BAD_BATCHES: { name: string; body: string; ending: string }[] = [
  {
    name: "'messages' that is an object",
    body: batch({ 0: message("1") }),
    ending: "has no 'messages' list",
  },
  {
    name: "'messages' that is null",
    body: batch(null),
    ending: "has no 'messages' list",
  },
  {
    name: "no 'messages' at all",
    body: '{"status":1,"request":"r","user":{}}',
    ending: "has no 'messages' list",
  },
  {
    name: "a message that is a string",
    body: batch(["hello"]),
    ending: "has a message (at 0) that is not an object",
  },
  {
    name: "a message that is null",
    body: batch([message("1"), null]),
    ending: "has a message (at 1) that is not an object",
  },
  {
    // Named for what it is, not for the id it lacks.
    name: "a message that is an array",
    body: batch([message("1"), [message("2")]]),
    ending: "has a message (at 1) that is not an object",
  },
  {
    name: "an id that is a word, without id_str",
    body: '{"status":1,"messages":[{"id":"seven","message":"m","app":"a"}]}',
    ending: "has a message (at 0) without a valid 'id'",
  },
  {
    name: "a non-numeric id_str",
    body: batch([message("12", { id_str: "12a" })]),
    ending: "has a message (at 0) without a valid 'id'",
  },
  {
    name: "an empty id_str",
    body: batch([message("12", { id_str: "" })]),
    ending: "has a message (at 0) without a valid 'id'",
  },
  {
    name: "an id_str that is a number",
    body: batch([message("12", { id_str: 12 })]),
    ending: "has a message (at 0) without a valid 'id'",
  },
  {
    name: "a negative id without id_str",
    body: '{"status":1,"messages":[{"id":-5,"message":"m","app":"a"}]}',
    ending: "has a message (at 0) without a valid 'id'",
  },
  {
    name: "a negative id_str",
    body: batch([message("5", { id: -5, id_str: "-5" })]),
    ending: "has a message (at 0) without a valid 'id'",
  },
  {
    name: "a message with no id at all",
    body: '{"status":1,"messages":[{"message":"m","app":"a"}]}',
    ending: "has a message (at 0) without a valid 'id'",
  },
  {
    // The re-parse that keeps ids exact must not break valid JSON here.
    name: "a fractional id without id_str",
    body: '{"status":1,"messages":[{"id":1.5,"message":"m","app":"a"}]}',
    ending: "has a message (at 0) without a valid 'id'",
  },
  {
    // As for the fractional id.
    name: "an id in exponent form without id_str",
    body: '{"status":1,"messages":[{"id":1e3,"message":"m","app":"a"}]}',
    ending: "has a message (at 0) without a valid 'id'",
  },
];

for (const { name, body, ending } of BAD_BATCHES) {
  serverTest(
    `downloadMessages() rejects ${name} with PushoverError`,
    async (context) => {
      const device = await newDevice(context);
      answerDownload(context.server, body);
      const error = await rejection(downloadMessages(device, context.api));
      assert.ok(error instanceof PushoverError, String(error));
      assert.equal(error.name, "PushoverError");
      assert.equal(
        error.message,
        `Cannot download messages: the server's answer ${ending}`,
      );
    },
  );
}

serverTest(
  "downloadMessages() keeps a numeric id sent as a string, without id_str",
  async (context) => {
    const device = await newDevice(context);
    answerDownload(
      context.server,
      '{"status":1,"messages":[{"id":"18446744073709551621","message":"m","app":"a"}]}',
    );
    const { messages } = await downloadMessages(device, context.api);
    assert.equal(messages[0].id_str, "18446744073709551621");
  },
);

serverTest(
  "downloadMessages() passes on a message without 'message' or 'app' untouched",
  async (context) => {
    const device = await newDevice(context);
    const bare = { id: 3, id_str: "3" };
    answerDownload(context.server, batch([bare]));
    const { messages } = await downloadMessages(device, context.api);
    assert.deepEqual(messages, [bare]);
  },
);

serverTest(
  "downloadMessages() drops 'user' and 'device' that are not objects",
  async (context) => {
    const device = await newDevice(context);
    answerDownload(
      context.server,
      batch([message("4")], { user: "admin", device: [1, 2] }),
    );
    const result = await downloadMessages(device, context.api);
    assert.equal(result.user, undefined);
    assert.equal(result.device, undefined);
    assert.equal(result.messages[0].id_str, "4");
  },
);

serverTest(
  "downloadMessages() keeps ids beyond 2^64 exact, with and without id_str",
  async (context) => {
    const device = await newDevice(context);
    const huge = "123456789012345678901234567890"; // ~2^96
    answerDownload(
      context.server,
      `{"status":1,"messages":[{"id":${huge},"umid":${huge}1,"aid":1,"message":"m","app":"a"},` +
        `{"id":${huge}9,"id_str":"${huge}9","umid":1,"umid_str":"1","aid":1,"aid_str":"1","message":"n","app":"a"}]}`,
    );
    const { messages } = await downloadMessages(device, context.api);
    assert.deepEqual(messages.map((m) => m.id_str), [huge, `${huge}9`]);
    assert.equal(messages[0].umid_str, `${huge}1`);
  },
);

serverTest(
  "downloadMessages() returns duplicate ids of one batch as they came",
  async (context) => {
    const device = await newDevice(context);
    answerDownload(
      context.server,
      batch([
        message("7", { message: "first copy" }),
        message("7", { message: "second copy" }),
      ]),
    );
    const { messages } = await downloadMessages(device, context.api);
    assert.deepEqual(messages.map((m) => m.message), [
      "first copy",
      "second copy",
    ]);
  },
);

serverTest(
  "downloadMessages() puts a batch in descending order back in ascending order",
  async (context) => {
    const device = await newDevice(context);
    answerDownload(
      context.server,
      batch([
        message("30"),
        message("9"),
        message("100"),
        message("18446744073709551616"),
      ]),
    );
    const { messages } = await downloadMessages(device, context.api);
    assert.deepEqual(messages.map((m) => m.id_str), [
      "9",
      "30",
      "100",
      "18446744073709551616",
    ]);
  },
);

serverTest(
  "downloadMessages() reads errors naming the device as LoginRequiredError",
  async (context) => {
    const device = await newDevice(context);
    answerDownload(
      context.server,
      '{"status":0,"request":"r","errors":{"device_id":["is not yours"]}}',
      403,
    );
    const error = await rejection(downloadMessages(device, context.api));
    assert.ok(error instanceof LoginRequiredError, String(error));
    assert.deepEqual(error.errors, ["device_id is not yours"]);
  },
);

for (const legacyIds of [false, true]) {
  serverTest(
    `downloadMessages() and deleteThrough() keep the fake's ids beyond 2^64 exact ${
      legacyIds ? "without" : "with"
    } id_str`,
    async (context) => {
      const { server } = context;
      const device = await newDevice(context);
      server.send({ message: "second" });
      const { messages } = await downloadMessages(device, context.api);
      assert.deepEqual(messages.map((m) => m.id_str), [
        "18446744073709551617",
        "18446744073709551618",
      ]);
      await deleteThrough(device, messages[0], context.api);
      assert.equal(
        server.log.requests("delete")[0].params.message,
        "18446744073709551617",
      );
      assert.deepEqual(queued(server, device), ["second"]);
    },
    { firstMessageId: "18446744073709551617", legacyIds },
  );
}

// ---- a 50 MB body ----

const FIFTY_MB = 50 * 1024 * 1024;

/**
 * Runs `body`, printing the time it took and the highest RSS seen meanwhile
 * (sampled whenever the event loop is free) over the RSS before. The fake runs
 * in the same process, so its copy of the body counts too.
 */
async function measured<T>(what: string, body: () => Promise<T>): Promise<T> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 1);
  const start = performance.now();
  try {
    return await body();
  } finally {
    clearInterval(sample);
    const ms = Math.round(performance.now() - start);
    peak = Math.max(peak, process.memoryUsage().rss);
    const mb = Math.round((peak - before) / 2 ** 20);
    console.log(`${what}: ${ms} ms, peak RSS +${mb} MB`);
  }
}

serverTest(
  "downloadMessages() takes a 50 MB answer without crashing (no size cap)",
  async (context) => {
    const device = await newDevice(context);
    // No *_str twins, so the library's slower exact re-parse runs on it too.
    answerDownload(
      context.server,
      `{"status":1,"request":"r","messages":[{"id":7,"umid":8,"aid":9,"message":"${
        "x".repeat(FIFTY_MB)
      }","app":"big","icon":"i","date":0,"priority":0,"acked":0}]}`,
    );
    const { messages } = await measured(
      "50 MB JSON download",
      () => downloadMessages(device, { ...context.api, timeout: 90_000 }),
    );
    assert.equal(messages[0].id_str, "7");
    assert.equal(messages[0].message.length, FIFTY_MB);
  },
);

serverTest(
  "downloadMessages() rejects a 50 MB page that is not JSON with PushoverError",
  async (context) => {
    const device = await newDevice(context);
    context.server.failNext({
      type: "status",
      status: 200,
      body: `<html>${"y".repeat(FIFTY_MB)}`,
    }, { endpoint: "download" });
    const error = await measured(
      "50 MB HTML download",
      () =>
        rejection(
          downloadMessages(device, { ...context.api, timeout: 90_000 }),
        ),
    );
    assert.ok(error instanceof PushoverError, String(error));
    assert.equal(
      error.message,
      `Cannot download messages: ${NOT_JSON_200}`,
    );
  },
);

// ---- login(), registerDevice(), deleteThrough(), acknowledge() ----

for (
  const [name, body] of [
    ["without a secret", '{"status":1,"request":"r","id":"u"}'],
    ["with a numeric user key", '{"status":1,"id":5,"secret":"s"}'],
    // An empty secret would make every later call blame the caller.
    ["with an empty secret", '{"status":1,"id":"u","secret":""}'],
  ]
) {
  serverTest(
    `login() rejects a success answer ${name} with PushoverError`,
    async (context) => {
      context.server.failNext({ type: "json", body }, { endpoint: "login" });
      const error = await rejection(
        login({ email: EMAIL, password: PASSWORD }, context.api),
      );
      assert.ok(error instanceof PushoverError, String(error));
      assert.match(error.message, /^Cannot log in: the server's answer /);
    },
  );
}

serverTest(
  "login() reports a 412 HTML page as PushoverError with status 412",
  async (context) => {
    context.server.failNext({ type: "status", status: 412 }, {
      endpoint: "login",
    });
    const error = await rejection(
      login({ email: EMAIL, password: PASSWORD }, context.api),
    );
    assert.ok(error instanceof PushoverError, String(error));
    // Without a JSON body the status alone is not taken as a 2FA request.
    assert.ok(!(error instanceof TwoFactorRequiredError));
    assert.equal(error.status, 412);
    assert.match(
      error.message,
      /412 Precondition Failed with a body that is not JSON$/,
    );
  },
);

serverTest(
  "login() flattens a 412's errors object into TwoFactorRequiredError",
  async (context) => {
    context.server.failNext({
      type: "json",
      status: 412,
      body: '{"status":0,"errors":{"twofa":["is required"]}}',
    }, { endpoint: "login" });
    const error = await rejection(
      login({ email: EMAIL, password: PASSWORD }, context.api),
    );
    assert.ok(error instanceof TwoFactorRequiredError, String(error));
    assert.deepEqual(error.errors, ["twofa is required"]);
  },
);

for (
  const [name, body] of [
    ["a numeric device id", '{"status":1,"request":"r","id":12345}'],
    ["an empty device id", '{"status":1,"request":"r","id":""}'],
    // Taken as is, it would make every later call throw a TypeError.
    ["a device id with path characters", '{"status":1,"id":"../../x y"}'],
  ]
) {
  serverTest(
    `registerDevice() rejects a success answer with ${name} with PushoverError`,
    async (context) => {
      const session = await login({ email: EMAIL, password: PASSWORD }, {
        ...context.api,
      });
      context.server.failNext({ type: "json", body }, { endpoint: "register" });
      const error = await rejection(
        registerDevice(session, "hostile", context.api),
      );
      assert.ok(error instanceof PushoverError, String(error));
      assert.match(
        error.message,
        /^Cannot register the device: the server's answer /,
      );
    },
  );
}

serverTest(
  "registerDevice() reads a field errors object as PushoverError, not LoginRequiredError",
  async (context) => {
    const session = await login({ email: EMAIL, password: PASSWORD }, {
      ...context.api,
    });
    context.server.failNext({
      type: "json",
      status: 400,
      body: '{"status":0,"errors":{"name":["has already been taken"]}}',
    }, { endpoint: "register" });
    const error = await rejection(
      registerDevice(session, "hostile", context.api),
    );
    assert.ok(error instanceof PushoverError, String(error));
    assert.ok(!(error instanceof LoginRequiredError));
    assert.equal(
      error.message,
      "Cannot register the device: the server answered 400 Bad Request: name has already been taken",
    );
  },
);

// Nested values are flattened into readable text, not "[object Object]".
for (
  const [primitive, body] of [
    [
      PRIMITIVES[1],
      '{"status":0,"errors":{"name":{"length":["is too long"]},"os":[["is","odd"]]}}',
    ],
    [
      PRIMITIVES[2],
      '{"status":0,"errors":[{"message":"is too long"},null,7,["nested"]]}',
    ],
  ] as const
) {
  serverTest(
    `${primitive.name} shows nested 'errors' as readable text`,
    async (context) => {
      context.server.failNext({ type: "json", status: 400, body }, {
        endpoint: primitive.endpoint,
      });
      const error = await rejection(primitive.call(context));
      assert.ok(error instanceof PushoverError, String(error));
      assert.match(error.message, /is too long/);
      for (const text of [error.message, ...error.errors]) {
        assert.doesNotMatch(text, /\[object Object\]/);
      }
    },
  );
}

/** `"x"` inside `depth` arrays: 20 KB of text at depth 10 000. */
const deeplyNested = (depth: number) =>
  `${"[".repeat(depth)}"x"${"]".repeat(depth)}`;

// Flattening is bounded in depth: a 20 KB answer must not overflow the stack.
for (const primitive of PRIMITIVES) {
  serverTest(
    `${primitive.name} rejects 'errors' nested 10 000 deep with PushoverError`,
    async (context) => {
      context.server.failNext({
        type: "json",
        status: 400,
        body: `{"status":0,"errors":${deeplyNested(10_000)}}`,
      }, { endpoint: primitive.endpoint });
      const error = await rejection(primitive.call(context));
      assert.ok(error instanceof PushoverError, String(error));
      assert.equal(error.status, 400);
      assert.match(
        error.message,
        new RegExp(`^Cannot ${primitive.action}: the server answered 400 `),
      );
    },
  );
}

serverTest(
  "deleteThrough() sends the exact digits of an id beyond 2^64 from a hostile batch",
  async (context) => {
    const device = await newDevice(context);
    const huge = "98765432109876543210987654321";
    answerDownload(
      context.server,
      `{"status":1,"messages":[{"id":${huge},"message":"m","app":"a"}]}`,
    );
    const { messages } = await downloadMessages(device, context.api);
    await deleteThrough(device, messages[0], context.api);
    assert.equal(context.server.log.requests("delete")[0].params.message, huge);
  },
);

serverTest(
  "deleteThrough() and acknowledge() refuse hostile ids and receipts before any request",
  async (context) => {
    const device = await newDevice(context);
    for (const id_str of ["5; rm", "-1", "", "1e3", " 7"]) {
      await assert.rejects(
        deleteThrough(device, { ...message("1"), id_str }, context.api),
        { name: "TypeError", message: /^Cannot delete messages: 'through'/ },
      );
    }
    for (const receipt of ["../../devices", "", "a b", 42, null]) {
      await assert.rejects(
        acknowledge(
          device,
          { ...message("1"), priority: 2, receipt } as unknown as Message,
          context.api,
        ),
        {
          name: "TypeError",
          message:
            /^Cannot acknowledge the message: 'receipt' is a message without a receipt/,
        },
      );
    }
    assert.equal(context.server.log.requests("delete").length, 0);
    assert.equal(context.server.log.requests("acknowledge").length, 0);
  },
);

// ---- streamMessages() against hostile REST answers ----

const TRANSIENT: { name: string; fault: RequestFault; reason: RegExp }[] = [
  {
    name: "a 200 HTML page",
    fault: { type: "status", status: 200 },
    reason:
      /^Cannot download messages: the server answered 200 OK with a body that is not JSON$/,
  },
  {
    name: "a 503 HTML page",
    fault: { type: "status", status: 503 },
    reason: /answered 503 Service Unavailable with a body that is not JSON$/,
  },
  {
    name: "malformed JSON",
    fault: { type: "json", body: '{"status":1,"messages":[' },
    reason: /200 OK with a body that is not JSON$/,
  },
  {
    name: "'messages' that is null",
    fault: { type: "json", body: batch(null) },
    reason: /the server's answer has no 'messages' list$/,
  },
  {
    name: "a message that is a string",
    fault: { type: "json", body: batch(["!"]) },
    reason: /has a message \(at 0\) that is not an object$/,
  },
  {
    name: "a message with a non-numeric id_str",
    fault: { type: "json", body: batch([message("3", { id_str: "3x" })]) },
    reason: /has a message \(at 0\) without a valid 'id'$/,
  },
  {
    name: 'a status given as the string "1"',
    fault: { type: "json", body: '{"status":"1","messages":[]}' },
    reason: /the server answered 200 OK$/,
  },
  {
    // As "'errors' nested 10 000 deep" above: on a 503 it is a passing failure.
    name: "'errors' nested 10 000 deep on a 503",
    fault: {
      type: "json",
      status: 503,
      body: `{"status":0,"errors":${deeplyNested(10_000)}}`,
    },
    reason: /^Cannot download messages: the server answered 503 /,
  },
  {
    name: "a 429 with Retry-After 0",
    fault: { type: "status", status: 429, retryAfter: "0" },
    reason: /429 Too Many Requests with a body that is not JSON$/,
  },
];

for (const { name, fault, reason } of TRANSIENT) {
  serverTest(
    `streamMessages() retries a download answered with ${name}, then delivers`,
    async (context) => {
      const { server } = context;
      const device = await newDevice(context);
      server.failNext(fault, { endpoint: "download" });
      const { statuses, onStatus } = statusLog();
      const got = await take(context.stream(device, { onStatus }), 1);
      assert.equal(got[0].title, "Welcome to Pushover!");
      const reasons = retryReasons(statuses);
      assert.equal(reasons.length, 1, JSON.stringify(statuses));
      assert.match(reasons[0], reason);
      assertDeletedOnlyReceived(server, got);
      assert.deepEqual(queued(server, device), []);
    },
  );
}

for (
  const [name, fault, errorClass, status] of [
    [
      "a non-JSON 404",
      {
        type: "status",
        status: 404,
        body: "Not Found",
        contentType: "text/plain",
      },
      PushoverError,
      404,
    ],
    [
      "a 400 naming the secret",
      {
        type: "json",
        status: 400,
        body: '{"status":0,"errors":{"secret":["is invalid"]}}',
      },
      LoginRequiredError,
      400,
    ],
    [
      "a 403 naming the device",
      {
        type: "json",
        status: 403,
        body:
          '{"status":0,"device":"disabled","errors":["device is disabled"]}',
      },
      LoginRequiredError,
      403,
    ],
  ] as const
) {
  serverTest(
    `streamMessages() stops on a download answered with ${name}, deleting nothing`,
    async (context) => {
      const { server } = context;
      const device = await newDevice(context);
      server.failNext(fault, { endpoint: "download" });
      const { statuses, onStatus } = statusLog();
      const error = await rejection(
        take(context.stream(device, { onStatus }), 1),
      );
      assert.ok(error instanceof errorClass, String(error));
      assert.equal((error as PushoverError).status, status);
      assert.match(
        (error as Error).message,
        /^Cannot download messages: the server answered /,
      );
      assert.deepEqual(statuses.at(-1), {
        state: "stopped",
        reason: "failed",
        error,
      });
      assert.equal(server.log.requests("delete").length, 0);
      assert.equal(queued(server, device).length, 1);
    },
  );
}

serverTest(
  "streamMessages() yields a duplicated id of one batch once",
  async (context) => {
    // Each message once: an id the server repeats within a batch comes once.
    const { server } = context;
    const device = await newDevice(context);
    answerDownload(
      server,
      batch([
        message("5", { message: "first copy" }),
        message("5", { message: "second copy" }),
      ]),
    );
    const got = await take(context.stream(device), 2, async (_, index) => {
      if (index !== 0) return;
      await server.waitForLogin(device.deviceId);
      server.send({ message: "later" }); // '!' starts the next sync
    });
    assert.deepEqual(got.map((m) => m.id_str), ["5", "1000"]);
    assertDeletedOnlyReceived(server, got);
  },
  { firstMessageId: "1000" },
);

serverTest(
  "streamMessages() yields a batch in descending order in ascending order",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    answerDownload(server, batch([message("7"), message("6"), message("5")]));
    const got = await take(context.stream(device), 3);
    assert.deepEqual(got.map((m) => m.id_str), ["5", "6", "7"]);
    assert.deepEqual(
      server.log.requests("delete").map((r) => r.params.message),
      ["7"],
    );
    assertDeletedOnlyReceived(server, got);
    assert.equal(queued(server, device).length, 1); // the fake's own, id 1000
  },
  { firstMessageId: "1000" },
);

for (const legacyIds of [false, true]) {
  serverTest(
    `streamMessages() deletes through the exact id beyond 2^64 ${
      legacyIds ? "without" : "with"
    } id_str`,
    async (context) => {
      const { server } = context;
      const device = await newDevice(context);
      server.send({ message: "second" });
      const got = await take(context.stream(device), 2);
      assert.deepEqual(got.map((m) => m.id_str), [
        "18446744073709551617",
        "18446744073709551618",
      ]);
      assert.deepEqual(
        server.log.requests("delete").map((r) => r.params.message),
        ["18446744073709551618"],
      );
      assertDeletedOnlyReceived(server, got);
      assert.deepEqual(queued(server, device), []);
    },
    { firstMessageId: "18446744073709551617", legacyIds },
  );
}

serverTest(
  "streamMessages() ends quietly when its last delete gets a 200 HTML page, keeping the message",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.failNext({ type: "status", status: 200 }, { endpoint: "delete" });
    const got = await take(context.stream(device), 1);
    assert.equal(server.log.requests("delete")[0].status, 200);
    assertDeletedOnlyReceived(server, got);
    assert.equal(queued(server, device).length, 1); // comes again next start
  },
);

serverTest(
  "streamMessages() stops with PushoverError when a delete gets a non-JSON 400",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    server.failNext({
      type: "status",
      status: 400,
      body: "Bad Request",
      contentType: "text/plain",
    }, { endpoint: "delete" });
    const got: Message[] = [];
    const error = await rejection(take(context.stream(device), 2, (m) => {
      got.push(m);
    }));
    assert.ok(error instanceof PushoverError, String(error));
    assert.equal(
      error.message,
      "Cannot delete messages: the server answered 400 Bad Request with a body that is not JSON",
    );
    assert.equal(got.length, 1);
    assertDeletedOnlyReceived(server, got);
  },
);

serverTest(
  "streamMessages() reads one-byte text frames from the server like binary ones",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const got = await take(context.stream(device), 2, async (_, index) => {
      if (index !== 0) return;
      await server.waitForLogin(device.deviceId);
      server.send({ message: "by text frame" });
    });
    assert.equal(got[1].message, "by text frame");
    assert.ok(server.log.sockets("sent", { data: "!" }).length > 0);
    assertDeletedOnlyReceived(server, got);
  },
  { frameKind: "text" },
);

// ---- streamMessages() against hostile frames (a WebSocket double) ----

/** A stream over a HandSocket that has delivered the welcome message. */
async function handStream(context: Context) {
  const device = await newDevice(context);
  // Downloads are counted the moment the client asks, not when they land.
  const rest = recordingFetch(context.server.fetch);
  const stream = context.stream(device, {
    WebSocket: HandSocket,
    fetch: rest.fetch,
  });
  const iterator = stream[Symbol.asyncIterator]();
  const first = await within(iterator.next(), "the welcome message");
  // The socket's first frame proves the login counts: one more download,
  // made when the loop next asks. Frames sent later are the corpus.
  HandSocket.last!.frame("#");
  const received: Message[] = [first.value];
  return {
    device,
    iterator,
    socket: HandSocket.last!,
    received,
    downloads: () => rest.count("download"),
  };
}

/**
 * Sends `frames` while the loop waits in next(), so a byte taken for `!`
 * would start a download at once and one taken for `R`, `E` or `A` would
 * drop the socket; asserts neither happened, then that `!` still works.
 */
async function assertIgnored(
  context: Context,
  hand: Hand,
  frames: unknown[],
): Promise<void> {
  const pending = hand.iterator.next();
  await nextTurn();
  for (const frame of frames) hand.socket.frame(frame);
  await nextTurn();
  await nextTurn();
  // The connect-time download and the one the first frame ('#') asked for.
  assert.equal(hand.downloads(), 2, "an ignored frame started a download");
  assert.equal(HandSocket.last, hand.socket, "an ignored frame reconnected");
  assert.equal(hand.socket.closed, false, "an ignored frame closed the socket");
  context.server.send({ message: "still listening" });
  hand.socket.frame(new Uint8Array([0x21]));
  const { value } = await within(pending, "a message after '!'");
  assert.equal(value.message, "still listening");
  hand.received.push(value);
}

type Hand = Awaited<ReturnType<typeof handStream>>;

/** Queues a message, sends `!`, and returns what the stream yields. */
async function stillListening(
  context: Context,
  hand: Hand,
  frame: unknown = new Uint8Array([0x21]),
): Promise<Message> {
  context.server.send({ message: "still listening" });
  const pending = hand.iterator.next();
  hand.socket.frame(frame);
  const { value } = await within(pending, "a message after '!'");
  hand.received.push(value);
  return value;
}

async function finish(context: Context, hand: Hand): Promise<void> {
  await hand.iterator.return!();
  assertDeletedOnlyReceived(context.server, hand.received);
}

serverTest(
  "streamMessages() ignores a login answered with garbage bytes",
  async (context) => {
    const device = await newDevice(context);
    const stream = context.stream(device, { WebSocket: HandSocket });
    const iterator = stream[Symbol.asyncIterator]();
    HandSocket.last = undefined;
    const pending = iterator.next();
    await nextTurn(); // the socket opens and the login frame goes out
    const socket = HandSocket.last!;
    assert.match(socket.sent[0], /^login:/);
    socket.frame(new Uint8Array([0x00, 0xff, 0xfe, 0x80, 0x7f, 0x0a, 0x0d]));
    socket.frame("\u0000\ufffd garbage, lower case only \u0121\u0145");
    const first = await within(pending, "the welcome message");
    const hand: Hand = {
      device,
      iterator,
      socket,
      received: [first.value],
      downloads: () => context.server.log.requests("download").length,
    };
    assert.equal(hand.downloads(), 1);
    assert.equal(
      (await stillListening(context, hand)).message,
      "still listening",
    );
    await finish(context, hand);
  },
);

serverTest(
  "streamMessages() reads each byte of a garbage reply as a command: 'E' in an HTML page stops it with LoginRequiredError",
  async (context) => {
    // Documents a design choice: multi-byte frames are read byte by byte
    // (each byte is a command), so garbage holding an 'E' ends the stream.
    const hand = await handStream(context);
    hand.socket.frame("<html><body>Error 500</body></html>");
    const error = await rejection(hand.iterator.next());
    assert.ok(error instanceof LoginRequiredError, String(error));
    assert.match(error.message, /refused the device's login \(E\)/);
    assertDeletedOnlyReceived(context.server, hand.received);
  },
);

serverTest(
  "streamMessages() ignores unknown bytes in text and binary frames",
  async (context) => {
    const hand = await handStream(context);
    await assertIgnored(context, hand, [
      "Z",
      "?",
      "x",
      "r",
      "e",
      "a",
      "\u0121",
      new Uint8Array([0x00]),
      new Uint8Array([0x5a, 0xff, 0x72, 0x01]),
    ]);
    await finish(context, hand);
  },
);

serverTest(
  "streamMessages() ignores empty text and binary frames",
  async (context) => {
    const hand = await handStream(context);
    await assertIgnored(context, hand, [
      "",
      new Uint8Array(0),
      new ArrayBuffer(0),
      new Blob([]),
    ]);
    await finish(context, hand);
  },
);

serverTest(
  "streamMessages() syncs on '!' in a text frame and in a binary frame",
  async (context) => {
    const hand = await handStream(context);
    await stillListening(context, hand, "!");
    await stillListening(context, hand, new Uint8Array([0x21]).buffer);
    assert.equal(hand.downloads(), 3);
    assert.deepEqual(hand.received.map((m) => m.message).slice(1), [
      "still listening",
      "still listening",
    ]);
    await finish(context, hand);
  },
);

serverTest(
  "streamMessages() ignores frame payloads of unexpected types",
  async (context) => {
    const hand = await handStream(context);
    const badBlob = new Blob(["!"]);
    badBlob.arrayBuffer = () => Promise.reject(new Error("unreadable blob"));
    await assertIgnored(context, hand, [
      33,
      null,
      undefined,
      { data: "!" },
      ["!"],
      badBlob,
      true,
      82, // 'R' as a number
    ]);
    await finish(context, hand);
  },
);

serverTest(
  "streamMessages() reads only the bytes of a view into a larger buffer",
  async (context) => {
    const hand = await handStream(context);
    // "E!E": a view of the middle byte must not see the E around it.
    const buffer = new Uint8Array([0x45, 0x21, 0x45]);
    await stillListening(context, hand, buffer.subarray(1, 2));
    await stillListening(context, hand, new DataView(buffer.buffer, 1, 1));
    await finish(context, hand);
  },
);

serverTest(
  "streamMessages() takes a 16 MB frame of '!' as one sync",
  async (context) => {
    const hand = await handStream(context);
    const huge = new Uint8Array(16 * 2 ** 20).fill(0x21);
    await measured(
      "16 MB binary frame",
      () => stillListening(context, hand, huge),
    );
    await nextTurn();
    assert.equal(hand.downloads(), 2);
    const text = "#".repeat(16 * 2 ** 20 - 1) + "!";
    await measured(
      "16 MB text frame",
      () => stillListening(context, hand, text),
    );
    assert.equal(hand.downloads(), 3);
    await finish(context, hand);
  },
);

// ---- last: nothing went unhandled ----

test("no promise rejection went unhandled while the hostile corpus ran", async () => {
  await nextTurn();
  rejections.stop();
  assert.deepEqual(rejections.unhandled, []);
});
