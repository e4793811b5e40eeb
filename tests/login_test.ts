import assert from "node:assert/strict";
import { test } from "node:test";
import { login, PushoverError, TwoFactorRequiredError } from "../mod.ts";
import {
  EMAIL,
  forbiddenFetch,
  PASSWORD,
  rejection,
  serverTest,
  TWOFA,
} from "./_setup.ts";

serverTest(
  "login() returns the user key and a fresh secret per login",
  async ({ server, api }) => {
    const first = await login({ email: EMAIL, password: PASSWORD }, api);
    const second = await login({ email: EMAIL, password: PASSWORD }, api);
    assert.equal(first.userKey, server.store.accounts[0].userKey);
    assert.match(first.userKey, /^[A-Za-z0-9]{30}$/);
    assert.match(first.secret, /^[a-z0-9]{60}$/);
    assert.notEqual(first.secret, second.secret);
    assert.deepEqual(Object.keys(first).sort(), ["secret", "userKey"]);
  },
);

serverTest(
  "login() sends a urlencoded POST body and nothing in the query",
  async ({ server, api }) => {
    await login({ email: EMAIL, password: PASSWORD }, api);
    const [request] = server.log.requests("login");
    assert.equal(request.method, "POST");
    assert.match(request.contentType, /^application\/x-www-form-urlencoded/);
    assert.deepEqual(request.query, {});
    assert.deepEqual(request.body, { email: EMAIL, password: PASSWORD });
  },
);

serverTest(
  "login() keeps the account's one secret under the older semantics",
  async ({ api }) => {
    const first = await login({ email: EMAIL, password: PASSWORD }, api);
    const second = await login({ email: EMAIL, password: PASSWORD }, api);
    assert.equal(first.secret, second.secret);
  },
  { secretPerLogin: false },
);

serverTest(
  "login() rejects a wrong password with PushoverError 400 and no password in it",
  async ({ api }) => {
    const error = await rejection(
      login({ email: EMAIL, password: "wrong-password-xyz" }, api),
    );
    assert.ok(error instanceof PushoverError);
    assert.ok(!(error instanceof TwoFactorRequiredError));
    assert.equal(error.status, 400);
    assert.deepEqual(error.errors, ["invalid email and/or password"]);
    assert.match(error.requestId ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(
      error.message,
      "Cannot log in: the server answered 400 Bad Request: invalid email and/or password",
    );
    assert.ok(!String(error.stack).includes("wrong-password-xyz"));
  },
);

serverTest("login() treats the e-mail as case-sensitive", async ({ api }) => {
  const error = await rejection(
    login({ email: EMAIL.toUpperCase(), password: PASSWORD }, api),
  );
  assert.equal((error as PushoverError).status, 400);
});

serverTest(
  "login() asks for a 2FA code with TwoFactorRequiredError, then succeeds with it",
  async ({ server, api }) => {
    server.addAccount({
      email: "2fa@example.com",
      password: PASSWORD,
      twofa: TWOFA,
    });
    const error = await rejection(
      login({ email: "2fa@example.com", password: PASSWORD }, api),
    );
    assert.ok(error instanceof TwoFactorRequiredError);
    assert.equal(error.status, 412);
    assert.equal(error.codeRejected, false);
    const session = await login({
      email: "2fa@example.com",
      password: PASSWORD,
      twofa: TWOFA,
    }, api);
    assert.match(session.secret, /^[a-z0-9]{60}$/);
    assert.equal(server.log.requests("login").at(-1)?.body.twofa, TWOFA);
  },
);

for (const status of [412, 400] as const) {
  serverTest(
    `login() reports a wrong 2FA code (server answers ${status}) without showing it`,
    async ({ server, api }) => {
      server.addAccount({
        email: "2fa@example.com",
        password: PASSWORD,
        twofa: TWOFA,
      });
      const error = await rejection(
        login(
          { email: "2fa@example.com", password: PASSWORD, twofa: "000111" },
          api,
        ),
      );
      assert.ok(error instanceof PushoverError);
      assert.equal(error.status, status);
      if (status === 412) {
        assert.equal((error as TwoFactorRequiredError).codeRejected, true);
      }
      assert.ok(!String(error.stack).includes("000111"));
      assert.ok(!String(error.message).includes(PASSWORD));
    },
    { wrongTwofaStatus: status },
  );
}

test("login() checks its arguments before any request, naming the argument", async () => {
  const options = { fetch: forbiddenFetch };
  await assert.rejects(login({ email: "", password: "x" }, options), {
    name: "TypeError",
    message:
      "Cannot log in: 'email' must be a non-empty string: current value is ''",
  });
  await assert.rejects(
    login({ email: "a@b.c", password: 42 as unknown as string }, options),
    {
      name: "TypeError",
      message: "Cannot log in: 'password' must be a non-empty string",
    },
  );
  await assert.rejects(
    login({ email: "a@b.c", password: "pw", twofa: "" }, options),
    {
      name: "TypeError",
      message: "Cannot log in: 'twofa' must be a non-empty string when given",
    },
  );
  await assert.rejects(
    login(null as never, options),
    /'credentials' must be an object/,
  );
});
