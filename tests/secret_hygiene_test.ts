// Secret hygiene: every error path the library has, and not one may show a
// secret, password or 2FA code — not in the message, String(error), the stack,
// the cause chain, the server's errors, the error as console.error would print
// it (util.inspect), the statuses a stream reports, or anything on the console.

import assert from "node:assert/strict";
import { test } from "node:test";
import { inspect } from "node:util";
import {
  acknowledge,
  decryptMessage,
  deleteThrough,
  downloadMessages,
  login,
  LoginRequiredError,
  PushoverError,
  registerDevice,
  SessionReplacedError,
  streamMessages,
  TwoFactorRequiredError,
} from "../mod.ts";
import type {
  Device,
  Message,
  Session,
  StreamStatus,
  WebSocketLike,
} from "../mod.ts";
import type { FakeServerOptions } from "../testing/mod.ts";
import {
  type Context,
  forbiddenFetch,
  nextTurn,
  rejection,
  serverTest,
  take,
  within,
} from "./_setup.ts";
import { watchUnhandledRejections } from "./_doubles.ts";
import {
  OFFLINE_DEVICE,
  OFFLINE_SECRET,
  primitives,
  RECEIPT,
} from "./_primitives.ts";

// Long, distinctive values, so that finding one in a text means a leak.
const EMAIL = "hygiene@example.com";
const PASSWORD = "Correct Horse+Battery&Staple=7c1f/3a9e never-log-me";
const TWOFA = "739104628351";
const WRONG_TWOFA = "582047193660";
/** A secret shaped like the real ones (60 lowercase letters and digits). */
const SECRET = OFFLINE_SECRET;
const DEVICE: Device = OFFLINE_DEVICE;

/** Every secret used so far; the fake's secrets join as they are issued. */
const known = new Set([PASSWORD, TWOFA, WRONG_TWOFA, SECRET]);

// ---- console capture and unhandled rejections, for the whole file ----

// From the file's first test to its last, not from its import: where Node
// runs many files in one process (--experimental-test-isolation=none), other
// files' tests run between the two, and what they print is theirs.
const METHODS = ["log", "error", "warn", "info", "debug"] as const;
const originalConsole = new Map(METHODS.map((m) => [m, console[m]]));
const printed: string[] = [];
let rejections: ReturnType<typeof watchUnhandledRejections>;

test("the console is captured and unhandled rejections watched from here on", () => {
  for (const method of METHODS) {
    const original = originalConsole.get(method)!;
    console[method] = (...args: unknown[]) => {
      printed.push(
        args.map((a) => typeof a === "string" ? a : inspect(a, { depth: null }))
          .join(" "),
      );
      original.apply(console, args);
    };
  }
  rejections = watchUnhandledRejections();
  console.info("# secret hygiene: console captured");
  assert.deepEqual(printed, ["# secret hygiene: console captured"]);
});

// ---- the check ----

/** The forms a secret may take in a text: raw, URL- and JSON-encoded, halves. */
function needles(): string[] {
  const out = new Set<string>();
  for (const secret of known) {
    out.add(secret);
    out.add(encodeURIComponent(secret));
    out.add(new URLSearchParams({ v: secret }).toString().slice(2));
    out.add(JSON.stringify(secret).slice(1, -1));
    if (secret.length > 24) {
      out.add(secret.slice(0, 24));
      out.add(secret.slice(-24));
    }
  }
  return [...out];
}

/** Every text through which `value` can reach a person, labelled. */
function exposures(
  value: unknown,
  where: string,
  out: [string, string][] = [],
  seen = new Set<unknown>(),
): [string, string][] {
  if (typeof value === "object" && value !== null) {
    if (seen.has(value)) return out;
    seen.add(value);
  }
  if (value instanceof Error) {
    out.push(
      [`${where}.message`, value.message],
      [`String(${where})`, String(value)],
      [`${where}.stack`, String(value.stack)],
      [`inspect(${where})`, inspect(value, { depth: null })],
    );
    if (value instanceof PushoverError) {
      out.push([`${where}.errors`, JSON.stringify(value.errors)]);
    }
    if (value.cause !== undefined) {
      exposures(value.cause, `${where}.cause`, out, seen);
    }
  } else if (typeof value === "object" && value !== null) {
    out.push(
      [`JSON(${where})`, JSON.stringify(value)],
      [`inspect(${where})`, inspect(value, { depth: null })],
    );
    const { error } = value as { error?: unknown };
    if (error !== undefined) exposures(error, `${where}.error`, out, seen);
  } else {
    out.push([where, String(value)]);
  }
  return out;
}

function assertNoSecret(value: unknown, where = "error"): void {
  const leaks: string[] = [];
  const forms = needles();
  for (const [place, text] of exposures(value, where)) {
    const shown = forms.find((form) => text.includes(form));
    if (shown) leaks.push(`${place} shows "${shown}" in: ${text}`);
  }
  assert.equal(leaks.length, 0, leaks.join("\n\n"));
}

function assertStatusesClean(statuses: StreamStatus[]): void {
  assert.ok(statuses.length > 0);
  statuses.forEach((status, i) => assertNoSecret(status, `statuses[${i}]`));
}

// ---- setup ----

const ACCOUNT: FakeServerOptions = {
  accounts: [{ email: EMAIL, password: PASSWORD, twofa: TWOFA }],
};

/** A server test whose account has the distinctive password and a 2FA code. */
function hygieneTest(
  name: string,
  body: (context: Context) => Promise<void>,
  options: FakeServerOptions = {},
): void {
  serverTest(name, body, { ...ACCOUNT, ...options });
}

async function signIn({ api }: Context): Promise<Session> {
  const session = await login({
    email: EMAIL,
    password: PASSWORD,
    twofa: TWOFA,
  }, api);
  known.add(session.secret);
  return session;
}

async function newDevice(context: Context): Promise<Device> {
  return await registerDevice(await signIn(context), "hygiene", context.api);
}

const TARGETS = primitives({
  credentials: { email: EMAIL, password: PASSWORD, twofa: TWOFA },
  signIn,
  newDevice,
});

// ---- login ----

hygieneTest(
  "login() with a wrong password shows neither password nor code",
  async (context) => {
    const wrong = `${PASSWORD}-but-wrong`;
    known.add(wrong);
    const error = await rejection(
      login({ email: EMAIL, password: wrong, twofa: TWOFA }, context.api),
    );
    assert.ok(error instanceof PushoverError, String(error));
    assert.equal(error.status, 400);
    assertNoSecret(error);
  },
);

hygieneTest(
  "login() asking for a 2FA code shows no password",
  async (context) => {
    const error = await rejection(
      login({ email: EMAIL, password: PASSWORD }, context.api),
    );
    assert.ok(error instanceof TwoFactorRequiredError, String(error));
    assert.equal(error.codeRejected, false);
    assertNoSecret(error);
  },
);

hygieneTest(
  "login() with a wrong 2FA code shows neither password nor code",
  async (context) => {
    const error = await rejection(
      login(
        { email: EMAIL, password: PASSWORD, twofa: WRONG_TWOFA },
        context.api,
      ),
    );
    assert.ok(error instanceof TwoFactorRequiredError, String(error));
    assert.equal(error.codeRejected, true);
    assertNoSecret(error);
  },
);

hygieneTest(
  "login() with a wrong 2FA code answered by a 400 shows neither password nor code",
  async (context) => {
    const error = await rejection(
      login(
        { email: EMAIL, password: PASSWORD, twofa: WRONG_TWOFA },
        context.api,
      ),
    );
    assert.ok(error instanceof PushoverError, String(error));
    assert.equal(error.status, 400);
    assertNoSecret(error);
  },
  { wrongTwofaStatus: 400 },
);

// ---- every primitive, every way a request fails ----

for (const target of TARGETS) {
  hygieneTest(
    `${target.name} shows no secret when the port is closed`,
    async (context) => {
      const { run } = await target.prepare(context);
      await context.server.close();
      const error = await rejection(run());
      assert.ok(error instanceof PushoverError, String(error));
      assert.match(error.message, /the request to 127\.0\.0\.1:\d+ failed/);
      assertNoSecret(error);
    },
  );

  hygieneTest(
    `${target.name} shows no secret when it times out`,
    async (context) => {
      const { run } = await target.prepare(context);
      context.server.failNext({ type: "hang" }, { endpoint: target.endpoint });
      const error = await rejection(run({ timeout: 30 }));
      assert.ok(error instanceof PushoverError, String(error));
      assert.match(error.message, /within 30 ms$/);
      assertNoSecret(error);
    },
  );

  hygieneTest(
    `${target.name} shows no secret in its 4xx and 5xx errors`,
    async (context) => {
      const { run } = await target.prepare(context);
      const { server } = context;
      const { endpoint } = target;
      server.failNext({
        type: "json",
        status: 400,
        body: '{"status":0,"request":"r","errors":["rejected"]}',
      }, { endpoint });
      server.failNext({ type: "status", status: 503 }, { endpoint });
      server.failNext({ type: "status", status: 404, body: "Not Found" }, {
        endpoint,
      });
      for (const status of [400, 503, 404]) {
        const error = await rejection(run());
        assert.ok(error instanceof PushoverError, String(error));
        assert.equal(error.status, status);
        assertNoSecret(error);
      }
    },
  );

  hygieneTest(
    `${target.name} redacts a secret the server echoes in its errors`,
    async (context) => {
      const { run, sends } = await target.prepare(context);
      const echoes = [
        {
          // Top-level echo keys, as the message API has; an errors list.
          errors: sends.map((s) => `value ${s} is invalid`),
          ...Object.fromEntries(sends.map((s, i) => [`field${i}`, s])),
        },
        { errors: Object.fromEntries(sends.map((s) => [s, [`is ${s}`]])) },
        { errors: `all of ${sends.join(" and ")} are wrong` },
      ];
      for (const echo of echoes) {
        context.server.failNext({
          type: "json",
          status: 400,
          body: JSON.stringify({ ...echo, status: 0, request: "r" }),
        }, { endpoint: target.endpoint });
        const error = await rejection(run());
        assert.ok(error instanceof PushoverError, String(error));
        assert.ok(error.errors.length > 0);
        assert.match(error.message, /\[redacted\]/);
        assertNoSecret(error);
      }
    },
  );

  for (
    const [style, fail] of [
      [
        "whose message holds the URL and body",
        (leak: string) => new TypeError(`error sending request for ${leak}`),
      ],
      [
        // Deno's fetch: TypeError("fetch failed") whose cause names the URL.
        "with the request in its cause, like Deno's",
        (leak: string) =>
          new TypeError("fetch failed", {
            cause: new Error(`error sending request for url (${leak})`),
          }),
      ],
      [
        // Bun's fetch: the URL in a `path` property, which inspect() prints.
        "with the request in a property, like Bun's",
        (leak: string) =>
          Object.assign(new TypeError("ECONNREFUSED: Unable to connect."), {
            code: "ECONNREFUSED",
            path: leak,
          }),
      ],
    ] as const
  ) {
    test(`${target.name} shows no secret when fetch fails ${style}`, async () => {
      const leaky: typeof fetch = (input, init) =>
        Promise.reject(fail(`${String(input)} ${String(init?.body ?? "")}`));
      const error = await rejection(target.offline({ fetch: leaky }));
      assert.ok(error instanceof PushoverError, String(error));
      assert.ok(error.cause instanceof TypeError);
      assertNoSecret(error);
    });
  }
}

hygieneTest(
  "downloadMessages() shows no secret the server echoes as its request token",
  async (context) => {
    // The request token is kept verbatim for support, and inspect() shows it.
    const device = await newDevice(context);
    context.server.failNext({
      type: "json",
      status: 400,
      body: JSON.stringify({
        status: 0,
        request: device.secret,
        errors: ["no"],
      }),
    }, { endpoint: "download" });
    const error = await rejection(downloadMessages(device, context.api));
    assert.ok(error instanceof PushoverError, String(error));
    assertNoSecret(error);
  },
);

for (const target of TARGETS.slice(1)) {
  hygieneTest(
    `${target.name} shows no secret in the LoginRequiredError of a revoked secret`,
    async (context) => {
      const { run, sends } = await target.prepare(context);
      context.server.store.revokeSecret(sends[0]);
      const error = await rejection(run());
      assert.ok(error instanceof LoginRequiredError, String(error));
      assertNoSecret(error);
    },
  );
}

// ---- the stream and its statuses ----

for (
  const [frame, ErrorClass] of [
    ["E", LoginRequiredError],
    ["A", SessionReplacedError],
  ] as const
) {
  hygieneTest(
    `streamMessages() shows no secret in the ${ErrorClass.name} of an '${frame}' frame, nor in its statuses`,
    async (context) => {
      const { server } = context;
      const device = await newDevice(context);
      const statuses: StreamStatus[] = [];
      const error = await rejection(
        take(
          context.stream(device, { onStatus: (s) => statuses.push(s) }),
          2,
          () => {
            server.sendFrame(frame, device.deviceId);
          },
        ),
      );
      assert.ok(error instanceof ErrorClass, String(error));
      assertNoSecret(error);
      assertStatusesClean(statuses);
    },
  );
}

hygieneTest(
  "streamMessages() shows no secret when REST rejects the secret, nor in its statuses",
  async (context) => {
    const device = await newDevice(context);
    context.server.store.revokeSecret(device.secret);
    const statuses: StreamStatus[] = [];
    const error = await rejection(
      take(context.stream(device, { onStatus: (s) => statuses.push(s) }), 1),
    );
    assert.ok(error instanceof LoginRequiredError, String(error));
    assertNoSecret(error);
    assert.equal(statuses.at(-1)?.state, "stopped");
    assertStatusesClean(statuses);
  },
);

hygieneTest(
  "streamMessages() reports retries after a fetch failure naming the URL without the secret",
  async (context) => {
    const device = await newDevice(context);
    let failures = 2;
    const leaky: typeof fetch = (input, init) => {
      if (failures-- <= 0) return context.server.fetch(input, init);
      return Promise.reject(
        new TypeError(`error sending request for url (${String(input)})`, {
          cause: new Error(`request to ${String(input)} failed`),
        }),
      );
    };
    const statuses: StreamStatus[] = [];
    const got = await take(
      context.stream(device, {
        fetch: leaky,
        onStatus: (s) => statuses.push(s),
      }),
      1,
    );
    assert.equal(got.length, 1);
    assert.equal(statuses.filter((s) => s.state === "retrying").length, 2);
    assertStatusesClean(statuses);
  },
);

hygieneTest(
  "streamMessages() reports reconnects after a dropped link without the secret",
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const statuses: StreamStatus[] = [];
    await take(
      context.stream(device, { onStatus: (s) => statuses.push(s) }),
      2,
      async (_, index) => {
        if (index !== 0) return;
        server.dropSockets(device.deviceId);
        server.send({ message: "while away" });
        await server.waitForLogin(device.deviceId, 2);
      },
    );
    assert.ok(statuses.some((s) => s.state === "reconnecting"));
    assertStatusesClean(statuses);
  },
);

/** A socket whose errors quote the login frame it was asked to send. */
class EchoingSocket extends EventTarget implements WebSocketLike {
  binaryType = "blob";
  constructor(_url: string) {
    super();
    queueMicrotask(() => this.dispatchEvent(new Event("open")));
  }
  send(data: string): void {
    const error = new Error(`cannot send ${data}`);
    queueMicrotask(() => {
      const event = new Event("error") as Event & {
        error?: unknown;
        message?: string;
      };
      event.error = error;
      event.message = error.message;
      this.dispatchEvent(event);
      this.dispatchEvent(new Event("close"));
    });
    throw error;
  }
  close(): void {}
}

test("streamMessages() reports a socket whose errors quote the login frame without the secret", async () => {
  const statuses: StreamStatus[] = [];
  let reconnects = 0;
  let enough!: () => void;
  const seen = new Promise<void>((resolve) => enough = resolve);
  const stream = streamMessages(DEVICE, {
    apiUrl: "https://api.example/1",
    websocketUrl: "wss://push.example/push",
    WebSocket: EchoingSocket,
    fetch: forbiddenFetch,
    retryDelay: { min: 1, max: 5 },
    onStatus: (status) => {
      statuses.push(status);
      if (status.state === "reconnecting" && ++reconnects === 3) enough();
    },
  });
  const iterator = stream[Symbol.asyncIterator]();
  const pending = iterator.next();
  try {
    await within(seen, "three reconnects");
  } finally {
    await stream.close();
  }
  assert.deepEqual(await pending, { done: true, value: undefined });
  assertStatusesClean(statuses);
});

// ---- argument mistakes ----

for (
  const [name, password] of [
    ["a number", 739104628351],
    ["an array holding it", [PASSWORD]],
    ["a String object", new String(PASSWORD)],
    ["an object holding it", { value: PASSWORD }],
  ] as const
) {
  test(`login() refuses a password given as ${name} without showing it`, async () => {
    const error = await rejection(
      login({ email: EMAIL, password } as never, { fetch: forbiddenFetch }),
    );
    assert.ok(error instanceof TypeError, String(error));
    assert.equal(
      error.message,
      "Cannot log in: 'password' must be a non-empty string",
    );
    assertNoSecret(error);
  });
}

test("login() refuses a 2FA code given as a number without showing it", async () => {
  const error = await rejection(
    login({ email: EMAIL, password: PASSWORD, twofa: Number(TWOFA) } as never, {
      fetch: forbiddenFetch,
    }),
  );
  assert.ok(error instanceof TypeError, String(error));
  assert.match(
    error.message,
    /^Cannot log in: 'twofa' must be a non-empty string/,
  );
  assertNoSecret(error);
});

test("login() refuses an e-mail given as an array holding the password without showing it", async () => {
  const error = await rejection(
    login({ email: [PASSWORD], password: PASSWORD } as never, {
      fetch: forbiddenFetch,
    }),
  );
  assert.ok(error instanceof TypeError, String(error));
  assert.match(
    error.message,
    /^Cannot log in: 'email' must be a non-empty string/,
  );
  assertNoSecret(error);
});

// Validation messages quote short strings they refuse, but never a secret
// or password passed in the wrong place.
for (
  const [name, call, errorClass, start] of [
    [
      "login() refuses the password given in place of the credentials",
      () => login(PASSWORD as never, { fetch: forbiddenFetch }),
      TypeError,
      "Cannot log in: 'credentials' must be an object",
    ],
    [
      "registerDevice() refuses the secret given in place of the session",
      () => registerDevice(SECRET as never, "name", { fetch: forbiddenFetch }),
      TypeError,
      "Cannot register the device: 'session' must be an object",
    ],
    [
      "registerDevice() refuses the secret given in place of the name",
      () =>
        registerDevice({ secret: SECRET }, SECRET, { fetch: forbiddenFetch }),
      RangeError,
      "Cannot register the device: 'name' must be 1 to 25 characters",
    ],
    [
      "downloadMessages() refuses the secret given in place of the device",
      () => downloadMessages(SECRET as never, { fetch: forbiddenFetch }),
      TypeError,
      "Cannot download messages: 'device' must be an object",
    ],
    [
      "deleteThrough() refuses the secret given in place of the message",
      () => deleteThrough(DEVICE, SECRET, { fetch: forbiddenFetch }),
      TypeError,
      "Cannot delete messages: 'through' must be a message",
    ],
    [
      "deleteThrough() refuses the secret given in place of the id_str",
      () =>
        deleteThrough(DEVICE, { id_str: SECRET } as never, {
          fetch: forbiddenFetch,
        }),
      TypeError,
      "Cannot delete messages: 'through' must be a message",
    ],
    [
      "acknowledge() refuses the secret given in place of the device",
      () => acknowledge(SECRET as never, RECEIPT, { fetch: forbiddenFetch }),
      TypeError,
      "Cannot acknowledge the message: 'auth' must be an object",
    ],
    [
      "streamMessages() refuses the secret given in place of the device",
      () => Promise.resolve().then(() => streamMessages(SECRET as never)),
      TypeError,
      "Cannot stream messages: 'device' must be an object",
    ],
  ] as const
) {
  test(`${name} without showing it`, async () => {
    const error = await rejection(call());
    assert.ok(error instanceof errorClass, String(error));
    assert.ok(
      (error as Error).message.startsWith(start),
      (error as Error).message,
    );
    assertNoSecret(error);
  });
}

// ---- end-to-end keys ----

/** Two distinctive end-to-end keys: the user's, and the sender's real one. */
const E2EE_KEY =
  "c0ffee00deadbeef0123456789abcdeffedcba9876543210beefcafe00c0ffee";
const SENDER_KEY =
  "5a5a5a5a0f0f0f0f1234123412341234abcdabcdabcdabcd9876987698769876";
known.add(E2EE_KEY);
known.add(SENDER_KEY);
known.add(E2EE_KEY.toUpperCase());

test("decryptMessage() shows no key in the error of a wrong key, nor of a malformed one", async () => {
  const sealed = {
    id: 1,
    id_str: "1",
    message: "x",
    encrypted: 1,
  } as unknown as Message;
  for (
    const key of [
      E2EE_KEY.slice(0, 63),
      `${E2EE_KEY}0`,
      `${E2EE_KEY.slice(0, 63)}z`,
      E2EE_KEY.toUpperCase(),
    ]
  ) {
    const error = await decryptMessage(sealed, key).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(error instanceof Error, key);
    assertNoSecret(error);
  }
});

hygieneTest(
  "streamMessages() with the wrong end-to-end key shows no key in its reports or errors",
  async (context) => {
    const device = await newDevice(context);
    for (let i = 0; i < 3; i++) {
      context.server.send({ message: `sealed ${i}`, encryptWith: SENDER_KEY });
    }
    const statuses: StreamStatus[] = [];
    const got = await take(
      context.stream(device, {
        encryptionKey: E2EE_KEY,
        onStatus: (s) => statuses.push(s),
      }),
      4,
    );
    assert.deepEqual(got.slice(1).map((m) => m.e2ee), [
      "failed",
      "failed",
      "failed",
    ]);
    assert.ok(statuses.some((s) => s.state === "undecryptable"));
    assertStatusesClean(statuses);
    const error = await rejection(
      downloadMessages(device, {
        ...context.api,
        encryptionKey: E2EE_KEY.slice(2),
      }),
    );
    assertNoSecret(error);
  },
);

// ---- last: the console and unhandled rejections ----

test("nothing written to the console while this file ran shows a secret", async () => {
  await nextTurn();
  for (const method of METHODS) console[method] = originalConsole.get(method)!;
  printed.forEach((text, i) => assertNoSecret(text, `console output ${i}`));
});

test("no promise rejection went unhandled while this file ran", () => {
  rejections.stop();
  assert.deepEqual(rejections.unhandled, []);
});
