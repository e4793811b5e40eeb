// The one decision between retrying and stopping (lib/_failure.ts), and the
// `transient` mark it reads.

import { test } from "node:test";
import assert from "node:assert/strict";
import { retryOrStop } from "../lib/_failure.ts";
import {
  LoginRequiredError,
  PushoverError,
  SessionReplacedError,
  TwoFactorRequiredError,
} from "../mod.ts";

test("retryOrStop() retries a PushoverError marked transient, as it is", () => {
  const error = new PushoverError("Cannot x: 503", {
    status: 503,
    transient: true,
  });
  const verdict = retryOrStop(error, "x");
  assert.equal(verdict.retry, true);
  assert.equal(verdict.error, error);
});

test("retryOrStop() stops on a refusal, even one built outside the library, as it is", () => {
  for (
    const error of [
      new PushoverError("Cannot x: 400", { status: 400 }),
      new LoginRequiredError("Cannot x: secret is invalid"),
    ]
  ) {
    assert.equal(error.transient, false);
    const verdict = retryOrStop(error, "x");
    assert.equal(verdict.retry, false);
    assert.equal(verdict.error, error);
  }
});

test("retryOrStop() stops on anything else, wrapped in a PushoverError naming the action and keeping the cause", () => {
  const bug = new TypeError("undefined is not a function");
  const verdict = retryOrStop(bug, "stream messages");
  assert.equal(verdict.retry, false);
  assert.ok(verdict.error instanceof PushoverError);
  assert.equal(
    verdict.error.message,
    "Cannot stream messages: unexpected failure: undefined is not a function",
  );
  assert.equal(verdict.error.cause, bug);
  assert.equal(verdict.error.transient, false);
  for (
    const [thrown, named] of [
      ["text", "text"],
      [null, "null"],
      [undefined, "undefined"],
      [Symbol("odd"), "Symbol(odd)"],
      [
        Object.create(Error.prototype, {
          message: {
            get() {
              throw new Error("a hostile getter");
            },
          },
        }),
        "an error that cannot be read",
      ],
    ] as const
  ) {
    const { error } = retryOrStop(thrown, "x");
    assert.equal(error.message, `Cannot x: unexpected failure: ${named}`);
    assert.equal(error.cause, thrown);
  }
});

test("a PushoverError is a refusal unless marked transient: true", () => {
  assert.equal(new PushoverError("x").transient, false);
  assert.equal(new PushoverError("x", { transient: false }).transient, false);
  // Only true marks it: a truthy value from loose code does not.
  assert.equal(
    new PushoverError("x", { transient: "yes" as unknown as boolean })
      .transient,
    false,
  );
  assert.equal(new PushoverError("x", { transient: true }).transient, true);
});

test("each error the library raises is named after its class, and keeps no cause it was not given", () => {
  const errors = [
    [new PushoverError("x"), "PushoverError"],
    [new LoginRequiredError("x"), "LoginRequiredError"],
    [new TwoFactorRequiredError("x", false), "TwoFactorRequiredError"],
    [new SessionReplacedError("x"), "SessionReplacedError"],
  ] as const;
  for (const [error, name] of errors) {
    assert.equal(error.name, name);
    assert.equal(String(error), `${name}: x`);
    assert.equal("cause" in error, false, `${name} without a cause`);
  }
  const cause = new TypeError("fetch failed");
  assert.equal(new PushoverError("x", { cause }).cause, cause);
});
