// The fake server itself, through its in-process transport: plain fetch and
// WebSocket calls as the client (not the library), checked against what
// testing/README.md says it does. fake_server_transport_test.ts runs the
// same kind of calls over the real loopback listener.

import assert from "node:assert/strict";
import { decryptMessage, login, registerDevice } from "../mod.ts";
import { startFakeServer } from "../testing/mod.ts";
import type { Message } from "../mod.ts";
import { EMAIL, PASSWORD, serverTest } from "./_setup.ts";
import {
  assertNothingBefore,
  call,
  closedOnServer,
  download,
  type Json,
  lastLogin,
  messagesOf,
  newDevice,
  post,
  register,
  secretOf,
  sentAfter,
  socketLogin,
  socketTest,
  waitForSent,
  within,
} from "./_fake_peers.ts";

const UUID_V4 =
  /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// ---- testing/README.md: Requests ----

serverTest(
  "the fake reads parameters from the query string of a POST",
  async ({ server }) => {
    const query = new URLSearchParams({ email: EMAIL, password: PASSWORD });
    const reply = await call(
      server,
      `${server.apiUrl}/users/login.json?${query}`,
      {
        method: "POST",
      },
    );
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json!.status, 1);
    const [request] = server.log.requests("login");
    assert.deepEqual(request.query, { email: EMAIL, password: PASSWORD });
    assert.deepEqual(request.body, {});
  },
);

serverTest(
  "the fake reads parameters from a urlencoded body",
  async ({ server }) => {
    const reply = await post(server, "/users/login.json", {
      email: EMAIL,
      password: PASSWORD,
    });
    assert.equal(reply.status, 200, reply.text);
    const [request] = server.log.requests("login");
    assert.match(request.contentType, /^application\/x-www-form-urlencoded/);
    assert.deepEqual(request.body, { email: EMAIL, password: PASSWORD });
    assert.deepEqual(request.query, {});
  },
);

serverTest(
  "the fake reads parameters from a multipart body",
  async ({ server }) => {
    const form = new FormData();
    form.set("email", EMAIL);
    form.set("password", PASSWORD);
    const reply = await call(server, `${server.apiUrl}/users/login.json`, {
      method: "POST",
      body: form,
    });
    assert.equal(reply.status, 200, reply.text);
    const [request] = server.log.requests("login");
    assert.match(request.contentType, /^multipart\/form-data; ?boundary=/);
    assert.deepEqual(request.body, { email: EMAIL, password: PASSWORD });
  },
);

serverTest(
  "the fake reads parameters from a JSON body",
  async ({ server }) => {
    const reply = await call(server, `${server.apiUrl}/users/login.json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    });
    assert.equal(reply.status, 200, reply.text);
    const [request] = server.log.requests("login");
    assert.deepEqual(request.body, { email: EMAIL, password: PASSWORD });
  },
);

serverTest(
  "the fake lets a body parameter win over the same query parameter",
  async ({ server }) => {
    const wrongInQuery = await call(
      server,
      `${server.apiUrl}/users/login.json?password=wrong&email=${
        encodeURIComponent(EMAIL)
      }`,
      { method: "POST", body: new URLSearchParams({ password: PASSWORD }) },
    );
    assert.equal(wrongInQuery.status, 200, wrongInQuery.text);
    const wrongInBody = await call(
      server,
      `${server.apiUrl}/users/login.json?password=${
        encodeURIComponent(PASSWORD)
      }`,
      {
        method: "POST",
        body: new URLSearchParams({ email: EMAIL, password: "wrong" }),
      },
    );
    assert.equal(wrongInBody.status, 400, wrongInBody.text);
    const [first, second] = server.log.requests("login");
    assert.deepEqual(first.query, { password: "wrong", email: EMAIL });
    assert.deepEqual(first.body, { password: PASSWORD });
    assert.deepEqual(first.params, { password: PASSWORD, email: EMAIL });
    assert.equal(second.params.password, "wrong");
  },
);

// ---- testing/README.md: Answers and errors ----

serverTest(
  "every JSON reply of the fake has a status and a fresh UUID request, and failures carry errors",
  async ({ server }) => {
    const { secret, deviceId } = await newDevice(server);
    server.addAccount({ email: "2fa@example.com", password: "pw", twofa: "1" });
    const replies = [
      await post(server, "/users/login.json", {
        email: EMAIL,
        password: PASSWORD,
      }),
      await post(server, "/users/login.json", {
        email: "2fa@example.com",
        password: "pw",
      }),
      await post(server, "/users/login.json", {
        email: EMAIL,
        password: "wrong",
      }),
      await post(server, "/devices.json", { secret, name: "desk", os: "O" }),
      await download(server, secret, deviceId),
      await download(server, "bad-secret", deviceId),
      await post(server, `/devices/${deviceId}/update_highest_message.json`, {
        secret,
        message: "1",
      }),
      await post(server, "/receipts/nope/acknowledge.json", { secret }),
      await post(server, "/messages.json", { message: "hi" }),
    ];
    const requests = new Set<string>();
    for (const reply of replies) {
      assert.ok(reply.json, `not JSON: ${reply.text}`);
      assert.match(reply.contentType, /^application\/json/);
      assert.match(reply.json.request as string, UUID_V4);
      requests.add(reply.json.request as string);
      if (reply.status === 200) {
        assert.equal(reply.json.status, 1, reply.text);
        assert.equal(reply.json.errors, undefined, reply.text);
      } else {
        assert.equal(reply.json.status, 0, reply.text);
        assert.ok(typeof reply.json.errors === "object", reply.text);
      }
    }
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 412, 400, 400, 200, 400, 200, 400, 400],
    );
    assert.equal(requests.size, replies.length, "a request token repeated");
  },
);

serverTest(
  "the fake answers an unknown path or a wrong method with an HTML 404 page, not JSON",
  async ({ server }) => {
    const { secret, deviceId } = await newDevice(server);
    const asked = [
      call(server, `${server.apiUrl}/nothing/here.json`),
      call(server, `${server.apiUrl}/users/login.json`), // GET instead of POST
      call(server, `${server.apiUrl}/devices.json`, { method: "PUT" }),
      call(server, `${server.apiUrl}/devices.json`, { method: "DELETE" }),
      call(
        server,
        `${server.apiUrl}/devices/${deviceId}/update_highest_message.json?secret=${secret}&message=1`,
      ),
      call(server, `${server.assetUrl}/`),
      call(server, `${server.assetUrl}/2/users/login.json`, { method: "POST" }),
    ];
    for (const reply of await Promise.all(asked)) {
      assert.equal(reply.status, 404, reply.text);
      assert.match(reply.contentType, /^text\/html/);
      assert.equal(reply.json, undefined);
      assert.match(reply.text, /Not Found/);
    }
  },
);

serverTest(
  "the fake answers POST /1/messages.json like the sending API: 400 for a bad application token",
  async ({ server }) => {
    const { secret, deviceId } = await newDevice(server);
    const reply = await post(server, "/messages.json", {
      secret,
      device_id: deviceId,
    });
    assert.equal(reply.status, 400);
    const { request: _, ...rest } = reply.json!;
    assert.deepEqual(rest, {
      token: "invalid",
      errors: ["application token is invalid"],
      status: 0,
    });
  },
);

// ---- testing/README.md: Register ----

serverTest(
  "the fake refuses an empty, 26-character or badly spelt device name with 400 and errors.name",
  async ({ server }) => {
    const secret = await secretOf(server);
    const names = ["", "a".repeat(26), "my desk", "desk.top", "dësk", "a/b"];
    for (const name of names) {
      const reply = await post(server, "/devices.json", {
        secret,
        name,
        os: "O",
      });
      assert.equal(reply.status, 400, `${name}: ${reply.text}`);
      assert.equal(reply.json!.status, 0);
      const errors = reply.json!.errors as Record<string, string[]>;
      assert.deepEqual(Object.keys(errors), ["name"]);
      assert.ok(Array.isArray(errors.name) && errors.name.length > 0);
    }
    // Without a name at all.
    const missing = await post(server, "/devices.json", { secret, os: "O" });
    assert.equal(missing.status, 400);
    assert.ok((missing.json!.errors as Json).name);
    assert.equal(server.store.devices.size, 0);
  },
);

serverTest(
  "the fake accepts a 25-character device name of letters, digits, '_' and '-'",
  async ({ server }) => {
    const secret = await secretOf(server);
    const name = "Ab9_-".repeat(5);
    const reply = await post(server, "/devices.json", {
      secret,
      name,
      os: "O",
    });
    assert.equal(reply.status, 200, reply.text);
    assert.match(reply.json!.id as string, /^[a-z0-9]{40}$/);
    assert.deepEqual(Object.keys(reply.json!).sort(), [
      "id",
      "request",
      "status",
    ]);
  },
);

serverTest(
  "the fake refuses a missing os or an os other than 'O' with 400 and errors.os",
  async ({ server }) => {
    const secret = await secretOf(server);
    for (const os of [undefined, "A", "o", ""]) {
      const fields: Record<string, string> = { secret, name: "desk" };
      if (os !== undefined) fields.os = os;
      const reply = await post(server, "/devices.json", fields);
      assert.equal(reply.status, 400, `${os}: ${reply.text}`);
      assert.equal(reply.json!.status, 0);
      const errors = reply.json!.errors as Record<string, string[]>;
      assert.ok(Array.isArray(errors.os) && errors.os.length > 0, reply.text);
    }
  },
);

serverTest(
  "the fake refuses a duplicate device name with the verbatim 'has already been taken' object",
  async ({ server }) => {
    const secret = await secretOf(server);
    await register(server, secret, "desk");
    const reply = await post(server, "/devices.json", {
      secret: await secretOf(server),
      name: "desk",
      os: "O",
    });
    assert.equal(reply.status, 400);
    assert.deepEqual(Object.keys(reply.json!), ["errors", "status", "request"]);
    assert.deepEqual(reply.json!.errors, { name: ["has already been taken"] });
    assert.equal(reply.json!.status, 0);
    assert.match(
      reply.text,
      /^\{"errors":\{"name":\["has already been taken"\]\},"status":0,"request":"[0-9a-f-]{36}"\}$/,
    );
  },
);

serverTest(
  "the fake lets another account use a device name that is taken elsewhere",
  async ({ server }) => {
    await register(server, await secretOf(server), "desk");
    server.addAccount({ email: "other@example.com", password: "other-pw" });
    const other = await secretOf(server, "other@example.com", "other-pw");
    await register(server, other, "desk");
    assert.equal(server.store.devices.size, 2);
  },
);

serverTest(
  "the fake refuses a registration with a bad secret with 400 and errors.secret",
  async ({ server }) => {
    const reply = await post(server, "/devices.json", {
      secret: "not-a-secret",
      name: "desk",
      os: "O",
    });
    assert.equal(reply.status, 400);
    const errors = reply.json!.errors as Record<string, string[]>;
    assert.ok(Array.isArray(errors.secret) && errors.secret.length > 0);
  },
);

serverTest(
  "the fake queues a welcome message from the Pushover app on a new device",
  async ({ server }) => {
    const { secret, deviceId } = await newDevice(server, "my-desk");
    const reply = await download(server, secret, deviceId);
    const messages = reply.json!.messages as Json[];
    assert.equal(messages.length, 1);
    const [welcome] = messages;
    assert.equal(welcome.app, "Pushover");
    assert.equal(welcome.aid, 1);
    assert.equal(welcome.icon, "pushover");
    assert.equal(welcome.priority, 0);
    assert.equal(welcome.acked, 0);
    assert.match(welcome.message as string, /my-desk/);
    assert.equal((reply.json!.device as Json).name, "my-desk");
    assert.equal(
      typeof (reply.json!.user as Json).is_desktop_licensed,
      "boolean",
    );
  },
);

// ---- testing/README.md: Delete ----

serverTest(
  "the fake refuses a non-numeric message on update_highest_message with 400 and deletes nothing",
  async ({ server }) => {
    const { secret, deviceId } = await newDevice(server);
    const path = `/devices/${deviceId}/update_highest_message.json`;
    for (const message of ["abc", "", "1.5", "-1", "0x10", "1e3"]) {
      const reply = await post(server, path, { secret, message });
      assert.equal(reply.status, 400, `${message}: ${reply.text}`);
      assert.equal(reply.json!.status, 0);
      assert.ok(Array.isArray(reply.json!.errors));
    }
    const missing = await post(server, path, { secret });
    assert.equal(missing.status, 400);
    assert.equal((await messagesOf(server, secret, deviceId)).length, 1);
  },
);

// ---- testing/README.md: Assets ----

serverTest(
  "the fake serves /icons/pushover.png and /icons/default.png as PNG images",
  async ({ server }) => {
    for (const name of ["pushover", "default"]) {
      const reply = await call(server, `${server.assetUrl}/icons/${name}.png`);
      assert.equal(reply.status, 200);
      assert.equal(reply.contentType, "image/png");
      assert.deepEqual([...reply.bytes.subarray(0, 8)], PNG_SIGNATURE);
    }
  },
);

serverTest(
  "the fake answers 404 for an icon nobody uses",
  async ({ server }) => {
    const reply = await call(
      server,
      `${server.assetUrl}/icons/zzzzzzzzzzzzzzz.png`,
    );
    assert.equal(reply.status, 404);
    assert.equal(reply.json, undefined);
    const wrongExtension = await call(
      server,
      `${server.assetUrl}/icons/pushover.gif`,
    );
    assert.equal(wrongExtension.status, 404);
  },
);

serverTest(
  "the fake serves /sounds/po.wav and /sounds/po.mp3 and answers 404 for an unknown code",
  async ({ server }) => {
    const wav = await call(server, `${server.assetUrl}/sounds/po.wav`);
    assert.equal(wav.status, 200);
    assert.match(wav.contentType, /^audio\//);
    assert.equal(new TextDecoder().decode(wav.bytes.subarray(0, 4)), "RIFF");
    assert.equal(new TextDecoder().decode(wav.bytes.subarray(8, 12)), "WAVE");
    const mp3 = await call(server, `${server.assetUrl}/sounds/po.mp3`);
    assert.equal(mp3.status, 200);
    assert.equal(mp3.contentType, "audio/mpeg");
    assert.ok(mp3.bytes.length > 0);
    for (const path of ["/sounds/zz.wav", "/sounds/zz.mp3", "/sounds/po.ogg"]) {
      const reply = await call(server, `${server.assetUrl}${path}`);
      assert.equal(reply.status, 404, path);
    }
  },
);

// ---- control endpoint ----

socketTest(
  "the fake's control endpoint queues a message from form fields and sends '!'",
  async ({ server, loggedIn }) => {
    const { secret, deviceId, peer } = await loggedIn();
    const form = new FormData();
    form.set("message", "disk full");
    form.set("title", "db01");
    form.set("priority", "1");
    form.set("url", "https://example.com/db01");
    const reply = await call(server, `${server.assetUrl}/control/send`, {
      method: "POST",
      body: form,
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.json!.status, 1);
    const sent = reply.json!.sent as { umid: string; ids: Json };
    assert.deepEqual(Object.keys(sent.ids), [deviceId]);
    assert.equal(await peer.next(), "!");
    const messages = await messagesOf(server, secret, deviceId);
    const last = messages[messages.length - 1];
    assert.equal(last.message, "disk full");
    assert.equal(last.title, "db01");
    assert.equal(last.priority, 1);
    assert.equal(last.url, "https://example.com/db01");
    assert.equal(last.umid_str, sent.umid);
  },
);

serverTest(
  "the fake's control endpoint sends a timestamp as the integer date, and refuses a count or number field that is not one (400, nothing sent)",
  async ({ server }) => {
    const { secret, deviceId } = await newDevice(server);
    const sent = await call(server, `${server.assetUrl}/control/send`, {
      method: "POST",
      body: new URLSearchParams({ message: "dated", timestamp: "1700000000" }),
    });
    assert.equal(sent.status, 200, sent.text);
    const last = (await messagesOf(server, secret, deviceId)).at(-1)!;
    assert.equal(last.date, 1_700_000_000);
    const before = (await messagesOf(server, secret, deviceId)).length;
    for (
      const fields of [
        { count: "abc" },
        { count: "0" },
        { count: "-1" },
        { timestamp: "yesterday" },
        { priority: "high" },
      ] as Record<string, string>[]
    ) {
      const refused = await call(server, `${server.assetUrl}/control/send`, {
        method: "POST",
        body: new URLSearchParams({ message: "junk", ...fields }),
      });
      assert.equal(refused.status, 400, JSON.stringify(fields));
    }
    assert.equal((await messagesOf(server, secret, deviceId)).length, before);
  },
);

serverTest(
  "a path with broken escapes names no device or receipt: answered as such, not with a 500",
  async ({ server }) => {
    for (
      const path of [
        "/1/devices/%E0%A4%A/update_highest_message.json",
        "/1/receipts/%zz/acknowledge.json",
      ]
    ) {
      const answer = await call(server, `${server.apiUrl}${path.slice(2)}`, {
        method: "POST",
        body: new URLSearchParams({ secret: "x", message: "1" }),
      });
      assert.ok(
        answer.status >= 400 && answer.status < 500,
        `${path}: ${answer.status}`,
      );
    }
  },
);

serverTest(
  "failNext() refuses a count below 1 (0 faulted every later request); a rate-limited request uses up no fault",
  async () => {
    const server = await startFakeServer({
      listen: false,
      rateLimit: 1,
      accounts: [{ email: EMAIL, password: PASSWORD }],
    });
    try {
      assert.throws(
        () => server.failNext({ type: "status", status: 503 }, { count: 0 }),
        RangeError,
      );
      const net = { apiUrl: server.apiUrl, fetch: server.fetch };
      // The minute's one login.
      const session = await login({ email: EMAIL, password: PASSWORD }, net);
      server.failNext({ type: "status", status: 503 }); // the next request's
      const limited = await server.fetch(`${server.apiUrl}/users/login.json`, {
        method: "POST",
        body: new URLSearchParams({ email: EMAIL, password: PASSWORD }),
      });
      await limited.body?.cancel();
      assert.equal(limited.status, 429);
      // Still due: the next request the limit lets through gets it.
      await assert.rejects(
        registerDevice(session, "box", net),
        (error: Error & { status?: number }) => error.status === 503,
      );
    } finally {
      await server.close();
    }
  },
);

serverTest(
  "the fake's control endpoint encrypts with a 'key' field, as an encrypting sender does",
  async ({ server }) => {
    const key = "7e".repeat(32);
    const { secret, deviceId } = await newDevice(server);
    const reply = await call(server, `${server.assetUrl}/control/send`, {
      method: "POST",
      body: new URLSearchParams({
        message: "sealed body",
        title: "sealed title",
        key,
      }),
    });
    assert.equal(reply.status, 200, reply.text);
    const last = (await messagesOf(server, secret, deviceId)).at(-1)!;
    assert.equal(last.encrypted, 1);
    assert.notEqual(last.message, "sealed body");
    assert.equal(last.key, undefined, "the key is not stored with the message");
    const plain = await decryptMessage(last as unknown as Message, key);
    assert.deepEqual([plain.title, plain.message], [
      "sealed title",
      "sealed body",
    ]);
  },
);

// ---- testing/README.md: The WebSocket (login) ----

socketTest(
  "the fake logs in a socket on a text login frame with '\\n' and answers nothing",
  async ({ server, connect }) => {
    const { secret, deviceId } = await newDevice(server);
    const peer = connect();
    await within(peer.opened, "the socket to open");
    assert.equal(server.connections(deviceId), 0);
    peer.send(`login:${deviceId}:${secret}\n`);
    await within(server.waitForLogin(deviceId, 1), "the socket login");
    assert.equal(server.connections(deviceId), 1);
    await assertNothingBefore(server, peer, deviceId);
    assert.equal(peer.isClosed(), false);
  },
);

socketTest(
  "holdLogins: a login sent while held gets no '!' until released; released logins count in arrival order, a closed socket's not at all",
  async ({ server, connect }) => {
    const first = await newDevice(server, "first");
    const second = await newDevice(server, "second");
    server.holdLogins(true);
    const [a, b] = [connect(), connect()];
    await within(Promise.all([a.opened, b.opened]), "the sockets to open");
    a.send(`login:${first.deviceId}:${first.secret}\n`);
    b.send(`login:${second.deviceId}:${second.secret}\n`);
    await within(
      server.log.waitFor((e) =>
        e.kind === "socket" && e.event === "received" &&
        e.data?.startsWith(`login:${second.deviceId}`) === true
      ),
      "both login frames to arrive",
    );
    const third = await newDevice(server, "third");
    const gone = connect();
    await within(gone.opened, "the socket to open");
    gone.send(`login:${third.deviceId}:${third.secret}\n`);
    await gone.close();
    await within(
      server.log.waitFor((e) => e.kind === "socket" && e.event === "close"),
      "the fake to see the third socket close",
    );
    assert.equal(server.connections(), 0);
    server.send({ message: "in the window" });
    server.holdLogins(false); // the closed socket's login is dropped
    assert.equal(server.connections(), 2);
    assert.deepEqual(
      server.log.sockets("login").map((e) => e.deviceId),
      [first.deviceId, second.deviceId],
    );
    assert.deepEqual([a.frames, b.frames], [[], []], "no '!' reached them");
    server.send({ message: "after" });
    await within(a.next(), "the '!' after the login counts");
  },
);

socketTest(
  "loginDelay: a login counts that many milliseconds after its frame, not before",
  async ({ server, connect }) => {
    const device = await newDevice(server);
    const peer = connect();
    await within(peer.opened, "the socket to open");
    peer.send(`login:${device.deviceId}:${device.secret}\n`);
    assert.equal(server.connections(device.deviceId), 0, "not yet");
    await within(server.waitForLogin(device.deviceId), "the delayed login");
    assert.equal(server.connections(device.deviceId), 1);
  },
  { loginDelay: 30 },
);

socketTest(
  "the fake logs in a socket on a binary login frame",
  async ({ server, connect }) => {
    const { secret, deviceId } = await newDevice(server);
    const peer = connect();
    await within(peer.opened, "the socket to open");
    peer.send(new TextEncoder().encode(`login:${deviceId}:${secret}\n`));
    await within(server.waitForLogin(deviceId, 1), "the socket login");
    assert.equal(server.connections(deviceId), 1);
    await assertNothingBefore(server, peer, deviceId);
  },
);

socketTest(
  "the fake logs in a socket on a login frame without the trailing newline, or with '\\r\\n'",
  async ({ server, connect }) => {
    const { secret, deviceId } = await newDevice(server);
    const bare = connect();
    await within(bare.opened, "the socket to open");
    bare.send(`login:${deviceId}:${secret}`);
    await within(server.waitForLogin(deviceId, 1), "the socket login");
    assert.equal(server.connections(deviceId), 1);
    await assertNothingBefore(server, bare, deviceId);
    const bareNumber = lastLogin(server, deviceId);
    await bare.close();
    await closedOnServer(server, bareNumber);

    const crlf = connect();
    await within(crlf.opened, "the socket to open");
    crlf.send(`login:${deviceId}:${secret}\r\n`);
    await within(server.waitForLogin(deviceId, 2), "the second login");
    assert.equal(server.connections(deviceId), 1);
    await assertNothingBefore(server, crlf, deviceId);
    assert.deepEqual(bare.frames, ["#"]); // the closed one got no 'A'
  },
);

// ---- testing/README.md: The WebSocket (frames) ----

socketTest(
  "the fake sends every frame as a binary message of exactly one byte",
  async ({ server, loggedIn }) => {
    const { deviceId, peer } = await loggedIn();
    server.send({ message: "hello" });
    server.sendFrame("#", deviceId);
    server.sendFrame("R", deviceId);
    assert.equal(await peer.next(), "!");
    assert.equal(await peer.next(), "#");
    assert.equal(await peer.next(), "R");
    await within(peer.closed, "the socket to close after 'R'");
    assert.deepEqual(peer.kinds, ["binary:1", "binary:1", "binary:1"]);
  },
);

socketTest(
  "the fake sends one-character text frames with frameKind 'text'",
  async ({ server, loggedIn }) => {
    const { deviceId, peer } = await loggedIn();
    server.send({ message: "hello" });
    server.sendFrame("#", deviceId);
    assert.equal(await peer.next(), "!");
    assert.equal(await peer.next(), "#");
    assert.deepEqual(peer.kinds, ["text:1", "text:1"]);
  },
  { frameKind: "text" },
);

// ---- testing/README.md: The WebSocket (keep-alive) ----

socketTest(
  "the fake sends '#' keep-alives at keepAliveInterval after a login",
  async ({ server, loggedIn }) => {
    const { peer, socket: socketNumber } = await loggedIn();
    assert.equal(await peer.next(), "#");
    assert.equal(await peer.next(), "#");
    assert.equal(await peer.next(), "#");
    assert.deepEqual(peer.kinds.slice(0, 3), [
      "binary:1",
      "binary:1",
      "binary:1",
    ]);
    // None before the login: the first '#' in the log follows it.
    const entries = server.log.entries;
    const loginAt = entries.findIndex((e) =>
      e.kind === "socket" && e.event === "login"
    );
    const firstHash = entries.findIndex((e) =>
      e.kind === "socket" && e.event === "sent" && e.data === "#"
    );
    assert.ok(firstHash > loginAt);
    assert.ok(
      sentAfter(server, 0, "#").every((e) => e.socket === socketNumber),
    );
  },
  { keepAliveInterval: 10 },
);

socketTest(
  "the fake sends no '#' while keep-alives are paused and resumes afterwards",
  async ({ server, loggedIn }) => {
    const { peer } = await loggedIn();
    await waitForSent(server, "#", 2, 0);
    server.pauseKeepAlive(true);
    const paused = server.log.entries.length;
    // A clock made of log entries: the unacknowledged emergency message is
    // repeated every 10 ms like the keep-alive, so six '!' (one sent at once,
    // five repeats) span at least four keep-alive periods.
    server.send({ message: "clock", priority: 2 });
    await waitForSent(server, "!", 6, paused);
    assert.deepEqual(sentAfter(server, paused, "#"), []);
    server.pauseKeepAlive(false);
    const resumed = server.log.entries.length;
    await waitForSent(server, "#", 2, resumed);
    assert.equal(peer.isClosed(), false);
  },
  { keepAliveInterval: 10, emergencyRetryInterval: 10 },
);

// ---- testing/README.md: The WebSocket (refused logins) ----

for (
  const [what, frame] of [
    ["a bad secret", (id: string) => `login:${id}:${"x".repeat(60)}\n`],
    [
      "an unknown device",
      (_: string, secret: string) => `login:${"d".repeat(40)}:${secret}\n`,
    ],
    ["a garbage login frame", () => "hello there\n"],
    ["a login frame missing its secret", (id: string) => `login:${id}\n`],
  ] as const
) {
  socketTest(
    `the fake answers ${what} on the socket with 'E' and closes it`,
    async ({ server, connect }) => {
      const { secret, deviceId } = await newDevice(server);
      const peer = connect();
      await within(peer.opened, "the socket to open");
      peer.send(frame(deviceId, secret));
      assert.equal(await peer.next(), "E");
      await within(peer.closed, "the socket to close after 'E'");
      assert.deepEqual(peer.frames, ["E"]);
      assert.deepEqual(peer.kinds, ["binary:1"]);
      assert.equal(server.connections(), 0);
      assert.ok(
        server.log.entries.some((e) =>
          e.kind === "socket" && e.event === "rejected"
        ),
      );
    },
  );
}

// ---- testing/README.md: The WebSocket ('!' to the right sockets) ----

socketTest(
  "the fake sends '!' to every logged-in socket of the user's devices when a message is queued, and to no one else",
  async ({ server, connect }) => {
    const desk = await newDevice(server, "desk");
    const phone = await newDevice(server, "phone");
    server.addAccount({ email: "other@example.com", password: "other-pw" });
    const otherSecret = await secretOf(server, "other@example.com", "other-pw");
    const other = {
      secret: otherSecret,
      deviceId: await register(server, otherSecret, "desk"),
    };
    const deskPeer = connect();
    const phonePeer = connect();
    const otherPeer = connect();
    const idle = connect(); // open but never logged in
    await socketLogin(server, deskPeer, desk.deviceId, desk.secret);
    await socketLogin(server, phonePeer, phone.deviceId, phone.secret);
    await socketLogin(server, otherPeer, other.deviceId, other.secret);
    await within(idle.opened, "the idle socket to open");

    const before = server.log.entries.length;
    const sent = server.send({
      message: "to everyone of the first user",
      user: EMAIL,
    });
    assert.deepEqual(
      Object.keys(sent.ids).sort(),
      [desk.deviceId, phone.deviceId].sort(),
    );
    assert.deepEqual(
      sentAfter(server, before).map((e) => [e.deviceId, e.data]).sort(),
      [[desk.deviceId, "!"], [phone.deviceId, "!"]].sort(),
    );
    assert.equal(await deskPeer.next(), "!");
    assert.equal(await phonePeer.next(), "!");
    // A '#' to everyone arrives first on the sockets that got no '!'.
    assert.equal(server.sendFrame("#"), 3);
    assert.equal(await otherPeer.next(), "#");
    assert.equal(await deskPeer.next(), "#");
    assert.equal(await phonePeer.next(), "#");
    assert.deepEqual(idle.frames, []);
  },
);

socketTest(
  "the fake sends '!' only to the device a message names",
  async ({ server, connect }) => {
    const desk = await newDevice(server, "desk");
    const phone = await newDevice(server, "phone");
    const deskPeer = connect();
    const phonePeer = connect();
    await socketLogin(server, deskPeer, desk.deviceId, desk.secret);
    await socketLogin(server, phonePeer, phone.deviceId, phone.secret);
    const sent = server.send({ message: "just the phone", device: "phone" });
    assert.deepEqual(Object.keys(sent.ids), [phone.deviceId]);
    assert.equal(await phonePeer.next(), "!");
    server.sendFrame("#");
    assert.equal(await deskPeer.next(), "#");
    assert.equal(await phonePeer.next(), "#");
    assert.equal(
      (await messagesOf(server, desk.secret, desk.deviceId)).length,
      1,
    );
    assert.equal(
      (await messagesOf(server, phone.secret, phone.deviceId)).length,
      2,
    );
  },
);

// ---- testing/README.md: The WebSocket (one session per device) ----

socketTest(
  "the fake sends 'A' to the older socket and closes it when the same device logs in again",
  async ({ server, connect }) => {
    const { secret, deviceId } = await newDevice(server);
    const older = connect();
    const olderNumber = await socketLogin(server, older, deviceId, secret);
    const newer = connect();
    // A second login may even use a fresh session secret of the same user.
    await socketLogin(server, newer, deviceId, await secretOf(server));
    assert.equal(await older.next(), "A");
    await within(older.closed, "the older socket to close");
    await closedOnServer(server, olderNumber);
    assert.deepEqual(older.frames, ["A"]);
    assert.equal(server.connections(deviceId), 1);
    assert.equal(newer.isClosed(), false);
    server.send({ message: "still here?" });
    assert.equal(await newer.next(), "!");
    assert.deepEqual(newer.frames, ["!"]);
  },
);

// ---- testing/README.md: Controls ----

for (const frame of ["R", "E", "A"] as const) {
  socketTest(
    `the fake sends '${frame}' through sendFrame() and then closes the socket`,
    async ({ server, connect }) => {
      const { secret, deviceId } = await newDevice(server);
      const peer = connect();
      const number = await socketLogin(server, peer, deviceId, secret);
      assert.equal(server.sendFrame(frame, deviceId), 1);
      assert.equal(await peer.next(), frame);
      await within(peer.closed, `the socket to close after '${frame}'`);
      await closedOnServer(server, number);
      assert.deepEqual(peer.frames, [frame]);
      assert.equal(server.connections(deviceId), 0);
    },
  );
}

socketTest(
  "the fake closes sockets with no frame on dropSockets()",
  async ({ server, loggedIn }) => {
    const { deviceId, peer, socket: number } = await loggedIn();
    assert.equal(server.dropSockets(deviceId), 1);
    await within(peer.closed, "the dropped socket to close");
    await closedOnServer(server, number);
    assert.deepEqual(peer.frames, []);
    assert.equal(server.connections(deviceId), 0);
  },
);

socketTest(
  "the fake closes the next connection right after it opens on dropNextConnections(1), and only that one",
  async ({ server, connect }) => {
    const { secret, deviceId } = await newDevice(server);
    server.dropNextConnections(1);
    const dropped = connect();
    await within(dropped.closed, "the dropped connection to close");
    await closedOnServer(server, 1);
    assert.deepEqual(dropped.frames, []);
    const events = server.log.entries.flatMap((e) =>
      e.kind === "socket" && e.socket === 1 ? [e.event] : []
    );
    assert.deepEqual(events, ["open", "close"]);
    const next = connect();
    await socketLogin(server, next, deviceId, secret);
    assert.equal(server.connections(deviceId), 1);
    await assertNothingBefore(server, next, deviceId);
  },
);

// ---- testing/README.md: The WebSocket (frames after login) ----

socketTest(
  "the fake logs and ignores frames a client sends after its login",
  async ({ server, loggedIn }) => {
    const { deviceId, peer, socket: socketNumber } = await loggedIn();
    const before = server.log.entries.length;
    peer.send("#");
    peer.send(new Uint8Array([0x21]));
    peer.send(`login:${deviceId}:${"x".repeat(60)}\n`);
    let seen = 0;
    await within(
      server.log.waitFor(
        (e) =>
          e.kind === "socket" && e.event === "received" &&
          e.socket === socketNumber && ++seen === 3,
        before,
      ),
      "three received frames in the log",
    );
    const received = server.log.entries.slice(before).flatMap((e) =>
      e.kind === "socket" && e.event === "received" ? [e.data] : []
    );
    assert.deepEqual(received, [
      "#",
      "!",
      `login:${deviceId}:${"x".repeat(60)}\n`,
    ]);
    assert.deepEqual(sentAfter(server, before), []);
    assert.equal(server.connections(deviceId), 1);
    await assertNothingBefore(server, peer, deviceId);
  },
);

// ---- testing/README.md: Download (disabled device) ----

socketTest(
  "the fake sends 'E' to a disabled device's socket, refuses its socket logins, and answers its REST calls with 403",
  async ({ server, connect, loggedIn }) => {
    const { secret, deviceId, peer } = await loggedIn();
    server.disableDevice(deviceId);
    assert.equal(await peer.next(), "E");
    await within(peer.closed, "the socket to close after 'E'");
    assert.deepEqual(peer.frames, ["E"]);

    const again = connect();
    await within(again.opened, "the socket to open");
    again.send(`login:${deviceId}:${secret}\n`);
    assert.equal(await again.next(), "E");
    await within(again.closed, "the refused socket to close");

    const reply = await download(server, secret, deviceId);
    assert.equal(reply.status, 403);
    assert.equal(reply.json!.status, 0);
    assert.ok(Array.isArray(reply.json!.errors));
    const deleted = await post(
      server,
      `/devices/${deviceId}/update_highest_message.json`,
      { secret, message: "1" },
    );
    assert.equal(deleted.status, 403);
  },
);

// ---- testing/README.md: Acknowledge ----

socketTest(
  "the fake repeats '!' for an unacknowledged emergency message and stops once it is acknowledged",
  async ({ server, loggedIn }) => {
    const { secret, peer } = await loggedIn();
    const start = server.log.entries.length;
    const { receipt } = server.send({ message: "fire", priority: 2 });
    assert.ok(receipt);
    // The first '!' and at least two repeats reach the socket.
    let bangs = 0;
    while (bangs < 3) if (await peer.next() === "!") bangs++;
    assert.ok(sentAfter(server, start, "!").length >= 3);

    const reply = await post(server, `/receipts/${receipt}/acknowledge.json`, {
      secret,
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(server.store.isPending(receipt), false);
    const acked = server.log.entries.length;
    // Keep-alives run on the same 5 ms period: five of them span several
    // retry periods, none of which may send another '!'.
    await waitForSent(server, "#", 5, acked);
    assert.deepEqual(sentAfter(server, acked, "!"), []);
  },
  { emergencyRetryInterval: 5, keepAliveInterval: 5 },
);

serverTest(
  "the fake marks acked 1 on every device's copy once an emergency message is acknowledged, and accepts a second acknowledgement",
  async ({ server }) => {
    const desk = await newDevice(server, "desk");
    const phone = await newDevice(server, "phone");
    const { receipt } = server.send({ message: "fire", priority: 2 });
    for (const device of [desk, phone]) {
      const [, copy] = await messagesOf(server, device.secret, device.deviceId);
      assert.equal(copy.priority, 2);
      assert.equal(copy.receipt, receipt);
      assert.equal(copy.acked, 0);
    }
    const path = `/receipts/${receipt}/acknowledge.json`;
    const first = await post(server, path, { secret: phone.secret });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json!.status, 1);
    for (const device of [desk, phone]) {
      const [, copy] = await messagesOf(server, device.secret, device.deviceId);
      assert.equal(copy.acked, 1, `not acked on ${device.deviceId}`);
    }
    const again = await post(server, path, { secret: desk.secret });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json!.status, 1);
  },
);

serverTest(
  "the fake refuses a priority outside -2…2, as the real API does: send() throws, the control form answers 400",
  async ({ server, api }) => {
    const session = await login({ email: EMAIL, password: PASSWORD }, api);
    await registerDevice(session, "prio-box", api);
    assert.throws(
      () => server.send({ message: "x", priority: 7 }),
      /priority is invalid: 7/,
    );
    const response = await server.fetch(
      new URL("/control/send", server.assetUrl),
      {
        method: "POST",
        body: new URLSearchParams({ message: "x", priority: "7" }),
      },
    );
    assert.equal(response.status, 400);
    assert.match(JSON.stringify(await response.json()), /priority is invalid/);
    server.send({ message: "fine", priority: -2 });
  },
);

serverTest(
  "the fake sends a message without a user to the account whose device registered last",
  async ({ server, api }) => {
    const other = server.addAccount({
      email: "other@example.com",
      password: "pw-2",
    });
    const session = await login({ email: other.email, password: "pw-2" }, api);
    const device = await registerDevice(session, "newest", api);
    const sent = server.send({ message: "to the newest" });
    assert.deepEqual(Object.keys(sent.ids), [device.deviceId]);
    // That device forgotten, the one registered before it is the newest.
    const first = await registerDevice(
      await login({ email: EMAIL, password: PASSWORD }, api),
      "first",
      api,
    );
    const last = await registerDevice(session, "last", api);
    server.store.removeDevice(server.store.devices.get(last.deviceId)!);
    const next = server.send({ message: "to the one before" });
    assert.deepEqual(Object.keys(next.ids), [first.deviceId]);
    assert.throws(
      () => server.send({ message: "x", user: other.email, device: "last" }),
      /no device to send to/,
    );
  },
);

serverTest(
  "the fake's device bookkeeping: a send with no device anywhere is one error; forgetting the newest device makes the one before it the newest, whatever its account; restore() replaces every device",
  async ({ server, api }) => {
    assert.throws(() => server.send({ message: "x" }), /no device to send to/);
    server.addAccount({ email: "o@example.com", password: "pw-2" });
    const mine = await login({ email: EMAIL, password: PASSWORD }, api);
    const theirs = await login(
      { email: "o@example.com", password: "pw-2" },
      api,
    );
    const a = await registerDevice(mine, "a", api);
    const before = JSON.parse(JSON.stringify(server.store.snapshot()));
    await registerDevice(mine, "c", api);
    const b = await registerDevice(theirs, "b", api);
    const d = await registerDevice(mine, "d", api);
    const [myAccount, theirAccount] = server.store.accounts;
    assert.deepEqual(
      [myAccount, theirAccount].map((account) =>
        server.store.devicesOf(account).map((device) => device.name)
      ),
      [["a", "c", "d"], ["b"]],
      "each account's devices, in the order registered",
    );
    server.store.removeDevice(server.store.devices.get(d.deviceId)!);
    assert.deepEqual(Object.keys(server.send({ message: "y" }).ids), [
      b.deviceId,
    ]);
    server.store.restore(before);
    assert.deepEqual([...server.store.devices.keys()], [a.deviceId]);
    assert.throws(
      () => server.send({ message: "z", user: "o@example.com" }),
      /no device to send to/,
    );
    // An account named by its user key as well as its e-mail; none, one line.
    const userKey = server.store.accounts[0].userKey;
    assert.deepEqual(
      Object.keys(server.send({ message: "k", user: userKey }).ids),
      [a.deviceId],
    );
    assert.throws(
      () => server.send({ message: "n", user: "nobody@example.com" }),
      { message: "no account nobody@example.com" },
    );
  },
);

serverTest(
  "the fake's store survives snapshot() and restore() as JSON: ids exact, an emergency's copies still share their receipt",
  async ({ server, api }) => {
    const session = await login({ email: EMAIL, password: PASSWORD }, api);
    const a = await registerDevice(session, "a", api);
    const b = await registerDevice(session, "b", api);
    const sent = server.send({ message: "fire", priority: 2, user: EMAIL });
    const snapshot = JSON.parse(JSON.stringify(server.store.snapshot()));
    const restored = await startFakeServer({ listen: false });
    try {
      restored.store.restore(snapshot);
      const ids = (id: string) =>
        restored.store.devices.get(id)!.queue.map((m) => String(m.id));
      assert.deepEqual(
        ids(a.deviceId),
        server.store.devices.get(a.deviceId)!.queue.map((m) => String(m.id)),
      );
      assert.deepEqual(restored.store.snapshot(), snapshot);
      assert.equal(restored.store.isPending(sent.receipt!), true);
      const account = restored.store.accountOfSecret(session.secret)!;
      assert.equal(account.email, EMAIL);
      assert.equal(restored.store.acknowledge(account, sent.receipt!), "acked");
      const copies = [a, b].map((d) =>
        restored.store.devices.get(d.deviceId)!.queue.at(-1)!.emergency
      );
      assert.ok(copies.every((e) => e?.acked === true));
      // Sent to after the restore: each device of the account, as before.
      const after = restored.send({ message: "after", user: EMAIL });
      assert.deepEqual(
        Object.keys(after.ids).sort(),
        [a.deviceId, b.deviceId].sort(),
      );
      assert.deepEqual(
        Object.keys(restored.send({ message: "no user" }).ids).sort(),
        [a.deviceId, b.deviceId].sort(),
      );
    } finally {
      await restored.close();
    }
  },
);
