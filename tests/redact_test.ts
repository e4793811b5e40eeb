// lib/_redact.ts on its own: every shape a thrown value can take comes back
// without the secret, as close to the original as it can be, and never
// throws.

import assert from "node:assert/strict";
import { test } from "node:test";
import { describeThrown, redact, redactError } from "../lib/_redact.ts";

const SECRET = "s3cr3t-abcdefghijklmnopqrstuvwxyz";
const SECRETS = [SECRET];
const LEAK = `https://api.example/1/messages.json?secret=${SECRET}&device_id=d`;

test("redact() replaces each secret and any secret=, password=, twofa= value", () => {
  assert.equal(
    redact(`a ${SECRET} b ?password=hunter2&twofa=123456#x`, SECRETS),
    "a [redacted] b ?password=[redacted]&twofa=[redacted]#x",
  );
  assert.equal(redact("nothing here", [""]), "nothing here");
});

test("describeThrown() reads any thrown value, and never throws", () => {
  assert.equal(
    describeThrown(new Error(`bad ${SECRET}`), SECRETS),
    "bad [redacted]",
  );
  assert.equal(describeThrown(`bad ${SECRET}`, SECRETS), "bad [redacted]");
  assert.equal(describeThrown(42, SECRETS), "42");
  assert.equal(
    describeThrown(Object.create(null), SECRETS),
    "an error that cannot be read",
  );
  const hostile = new Error("x");
  Object.defineProperty(hostile, "message", {
    get: () => {
      throw new Error("no");
    },
  });
  assert.equal(
    describeThrown(hostile, SECRETS),
    "an error that cannot be read",
  );
});

test("redactError() returns values without a secret as they are, the same object", () => {
  const error = new TypeError("offline", { cause: new Error("deeper") });
  Object.assign(error, { code: "ECONNRESET", list: ["a"], info: { port: 1 } });
  assert.equal(redactError(error, SECRETS), error);
  const url = new URL("https://example.com/x");
  const withUrl = Object.assign(new Error("x"), { url });
  assert.equal(redactError(withUrl, SECRETS), withUrl);
  for (const value of [undefined, null, 7, true, "plain"]) {
    assert.equal(redactError(value, SECRETS), value);
  }
});

test("redactError() redacts the message, the stack, the cause and own properties, keeping the class", () => {
  const error = Object.assign(
    new RangeError(`failed ${LEAK}`, { cause: new Error(`inner ${LEAK}`) }),
    {
      path: LEAK,
      code: 7,
      nothing: null,
      list: [LEAK, "plain", 3],
      nested: { url: LEAK, deeper: { url: LEAK } },
      bare: Object.assign(Object.create(null), { url: LEAK }),
      link: new URL(LEAK),
    },
  );
  // deno-lint-ignore no-explicit-any
  const copy = redactError(error, SECRETS) as RangeError & Record<string, any>;
  assert.notEqual(copy, error);
  assert.ok(copy instanceof RangeError);
  assert.equal(copy.name, "RangeError");
  assert.match(copy.message, /^failed .*secret=\[redacted\]&device_id=d$/);
  assert.ok(!String(copy.stack).includes(SECRET));
  assert.match((copy.cause as Error).message, /^inner .*\[redacted\]/);
  assert.match(copy.path, /secret=\[redacted\]/);
  assert.equal(copy.code, 7);
  assert.equal(copy.nothing, null);
  assert.deepEqual(copy.list, [LEAK.replace(SECRET, "[redacted]"), "plain", 3]);
  assert.equal(copy.nested.url, LEAK.replace(SECRET, "[redacted]"));
  assert.equal(copy.nested.deeper.url, LEAK.replace(SECRET, "[redacted]"));
  assert.equal(copy.bare.url, LEAK.replace(SECRET, "[redacted]"));
  assert.equal(copy.link, LEAK.replace(SECRET, "[redacted]"));
  assert.ok(
    Object.keys(copy).includes("path"),
    "own properties stay enumerable",
  );
  assert.ok(!Object.keys(copy).includes("message"));
  // The original is untouched.
  assert.match(error.message, new RegExp(SECRET));
});

test("redactError() finds a secret in the stack alone, the cause alone, a property alone", () => {
  const inStack = new Error("plain");
  inStack.stack = `Error: plain\n    at ${LEAK}`;
  const inCause = new Error("plain", { cause: `cause ${LEAK}` });
  const inProperty = Object.assign(new Error("plain"), { path: LEAK });
  for (const error of [inStack, inCause, inProperty]) {
    const copy = redactError(error, SECRETS) as Error;
    assert.notEqual(copy, error);
    assert.equal(copy.message, "plain");
    for (
      const text of [
        String(copy.stack),
        String(copy.cause),
        JSON.stringify(copy),
      ]
    ) {
      assert.ok(!text.includes(SECRET), text);
    }
  }
});

test("redactError() keeps an error without a stack stackless, and one without a cause causeless", () => {
  const error = new Error(`failed ${LEAK}`);
  Object.defineProperty(error, "stack", { value: undefined });
  const copy = redactError(error, SECRETS) as Error;
  assert.ok(copy instanceof Error);
  assert.equal(copy.stack, undefined);
  assert.equal("cause" in copy, false);
  assert.match(copy.message, /\[redacted\]/);
});

test("redactError() copies a cycle as a cycle, and cuts an error's cause chain where it loops", () => {
  const loop: Record<string, unknown> = { url: LEAK };
  loop.self = loop;
  const list: unknown[] = [LEAK];
  list.push(list);
  const error = Object.assign(new Error(`failed ${LEAK}`), { loop, list });
  const copy = redactError(error, SECRETS) as Error & {
    loop: Record<string, unknown>;
    list: unknown[];
  };
  assert.equal(copy.loop.self, copy.loop);
  assert.equal(copy.list[1], copy.list);
  const a = new Error(`a ${LEAK}`);
  const b = new Error(`b ${LEAK}`, { cause: a });
  (a as { cause?: unknown }).cause = b;
  const cut = redactError(a, SECRETS) as Error;
  const cause = cut.cause as Error;
  assert.match(cause.message, /^b .*\[redacted\]/);
  assert.equal(cause.cause, undefined);
});

test("redactError() stops 8 levels down: deeper values are dropped, not walked", () => {
  let deep: Record<string, unknown> = { url: LEAK };
  for (let i = 0; i < 12; i++) deep = { inner: deep };
  const copy = redactError(
    Object.assign(new Error(`x ${LEAK}`), { deep }),
    SECRETS,
  ) as Error & { deep: Record<string, unknown> };
  let level: unknown = copy.deep;
  let depth = 0;
  while (level && typeof level === "object" && "inner" in level) {
    level = (level as { inner: unknown }).inner;
    depth++;
  }
  assert.equal(depth, 8);
  assert.equal(level, undefined);
  assert.ok(!JSON.stringify(copy.deep).includes(SECRET));
});

test("redactError() copies a DOMException as a DOMException of the same name", () => {
  const copy = redactError(
    new DOMException(`failed ${LEAK}`, "NetworkError"),
    SECRETS,
  ) as DOMException;
  assert.ok(copy instanceof DOMException);
  assert.equal(copy.name, "NetworkError");
  assert.match(copy.message, /\[redacted\]/);
});

test("redactError() copies an error whose class has a getter-only name", () => {
  class Odd extends Error {
    override get name() {
      return "Odd";
    }
  }
  const copy = redactError(
    Object.freeze(new Odd(`x ${LEAK}`)),
    SECRETS,
  ) as Error;
  assert.ok(copy instanceof Odd);
  assert.equal(copy.name, "Odd");
  assert.match(copy.message, /\[redacted\]/);
});

test("redactError() falls back to a plain Error with what it could read when reading throws", () => {
  const error = new Error(`failed ${LEAK}`);
  Object.defineProperty(error, "cause", {
    get: () => {
      throw new Error("no");
    },
  });
  const copy = redactError(error, SECRETS) as Error;
  assert.equal(Object.getPrototypeOf(copy), Error.prototype);
  assert.equal(copy.message, `failed ${LEAK.replace(SECRET, "[redacted]")}`);
});

test("redactError() keeps what a DOMException's getters answer, its code too", () => {
  const copy = redactError(
    new DOMException(`failed ${LEAK}`, "NetworkError"),
    SECRETS,
  ) as DOMException;
  assert.equal(copy.code, 19);
  assert.equal(
    String(copy),
    `NetworkError: failed ${LEAK.replace(SECRET, "[redacted]")}`,
  );
});

test("redactError() keeps a name given as a hidden own property, and the copy's fields stay writable", () => {
  const error = new Error(`failed ${LEAK}`);
  Object.defineProperty(error, "name", {
    value: "FetchError",
    enumerable: false,
  });
  const copy = redactError(error, SECRETS) as Error;
  assert.equal(copy.name, "FetchError");
  assert.match(String(copy.stack), /failed .*secret=\[redacted\]/);
  copy.name = "Renamed";
  copy.message = "changed";
  copy.stack = "changed";
  assert.deepEqual([copy.name, copy.message, copy.stack], [
    "Renamed",
    "changed",
    "changed",
  ]);
});

test("redactError() stops 8 levels down in cause chains and arrays too", () => {
  let chain = new Error(`bottom ${LEAK}`);
  for (let i = 0; i < 12; i++) {
    chain = new Error(`level ${i}`, { cause: chain });
  }
  let copy = redactError(chain, SECRETS) as Error;
  let depth = 0;
  while (copy.cause instanceof Error) {
    copy = copy.cause;
    depth++;
  }
  assert.equal(depth, 8);
  assert.equal(copy.cause, undefined);
  let nested: unknown[] = [LEAK];
  for (let i = 0; i < 12; i++) nested = [nested];
  const holder = redactError(
    Object.assign(new Error(`x ${LEAK}`), { nested }),
    SECRETS,
  ) as Error & { nested: unknown[] };
  let level: unknown = holder.nested;
  let arrays = 0;
  while (Array.isArray(level)) {
    level = level[0];
    arrays++;
  }
  assert.equal(arrays, 8);
  assert.equal(level, undefined);
});
