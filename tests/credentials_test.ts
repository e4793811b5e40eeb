import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CREDENTIALS_FORMAT,
  parseCredentials,
  stringifyCredentials,
} from "../mod.ts";

test("stringifyCredentials() and parseCredentials() round-trip every field", () => {
  const saved = {
    device: { secret: "s".repeat(60), deviceId: "d".repeat(40) },
    userKey: "u".repeat(30),
    email: "me@example.com",
    deviceName: "desk",
    apiUrl: "http://127.0.0.1:8080/1",
    websocketUrl: "ws://127.0.0.1:8080/push",
  };
  const text = stringifyCredentials(saved);
  assert.deepEqual(JSON.parse(text), {
    format: CREDENTIALS_FORMAT,
    secret: saved.device.secret,
    deviceId: saved.device.deviceId,
    userKey: saved.userKey,
    email: saved.email,
    deviceName: "desk",
    apiUrl: saved.apiUrl,
    websocketUrl: saved.websocketUrl,
  });
  assert.ok(text.endsWith("}\n"));
  assert.deepEqual(parseCredentials(text), saved);
});

test("stringifyCredentials() never writes a password, even one passed along", () => {
  const withPassword = {
    device: { secret: "s3cret", deviceId: "dev" },
    password: "hunter2",
    email: "me@example.com",
  } as Parameters<typeof stringifyCredentials>[0];
  const text = stringifyCredentials(withPassword);
  assert.ok(!text.includes("hunter2"));
  assert.ok(!text.includes("password"));
});

test("parseCredentials() imports the Python client's config and drops its password", () => {
  const seed = JSON.stringify({
    email: "me@example.com",
    password: "hunter2",
    secret: "s3cret",
    deviceID: "dev",
    userID: "user",
  });
  const saved = parseCredentials(seed);
  assert.deepEqual(saved, {
    device: { secret: "s3cret", deviceId: "dev" },
    userKey: "user",
    email: "me@example.com",
  });
  assert.ok(!stringifyCredentials(saved).includes("hunter2"));
});

test("parseCredentials() names the missing field of a malformed file", () => {
  const cases: [string, string][] = [
    ["not json", "Cannot read credentials: the text is not JSON"],
    ["[1,2]", "Cannot read credentials: the JSON is not an object"],
    [
      '{"format":"pushover-open-client/1","deviceId":"d"}',
      "Cannot read credentials: 'secret' is missing or empty",
    ],
    [
      '{"secret":"s"}',
      "Cannot read credentials: 'deviceId' is missing or empty",
    ],
    [
      '{"email":"a","password":"p","secret":"s","deviceID":""}',
      "Cannot read credentials: 'deviceID' is missing or empty",
    ],
    [
      '{"email":"a","password":"p","secret":"","deviceID":"d"}',
      "Cannot read credentials: 'secret' is missing or empty",
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseCredentials(text),
      { name: "TypeError", message },
      text,
    );
  }
});

test("parseCredentials() errors never show the password of a seed config", () => {
  const seed =
    '{"email":"a","password":"hunter2-pw","secret":7,"deviceID":"d"}';
  assert.throws(
    () => parseCredentials(seed),
    (error: Error) => !error.message.includes("hunter2-pw"),
  );
});

test("stringifyCredentials() refuses a device without secret or id", () => {
  assert.throws(
    () => stringifyCredentials({ device: { secret: "", deviceId: "d" } }),
    {
      name: "TypeError",
      message: "Cannot write credentials: 'device.secret' is missing or empty",
    },
  );
  assert.throws(() => stringifyCredentials({} as never), {
    name: "TypeError",
    message: "Cannot write credentials: 'device.secret' is missing or empty",
  });
});
