// sameSecret (lib/_same_secret.ts): the one comparison of a secret someone
// gave (the web page's token, the admin API's bearer token) with the one
// expected.

import { test } from "node:test";
import assert from "node:assert/strict";
import { sameSecret } from "../lib/_same_secret.ts";

test("sameSecret: the same text is the same; any other, shorter, longer or empty is not", async () => {
  const secret = "s3cret-token-0123456789";
  assert.equal(await sameSecret(secret, secret), true);
  for (
    const guess of [
      "",
      "s3cret-token-012345678",
      `${secret}0`,
      "S3cret-token-0123456789",
      "x".repeat(secret.length),
    ]
  ) {
    assert.equal(await sameSecret(guess, secret), false, guess);
  }
  assert.equal(
    await sameSecret("", ""),
    false,
    "an empty secret never matches",
  );
});

test("sameSecret compares every byte: a difference in the last one is found", async () => {
  const expected = "a".repeat(64);
  assert.equal(await sameSecret(`${"a".repeat(63)}b`, expected), false);
  assert.equal(await sameSecret(`b${"a".repeat(63)}`, expected), false);
});
