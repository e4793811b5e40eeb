// streamMessages() with a WebSocket double: payload shapes the fake server
// never sends (several bytes, unknown bytes, Blobs).

import assert from "node:assert/strict";
import { test } from "node:test";
import { streamMessages } from "../mod.ts";
import { nextTurn } from "./_setup.ts";
import { HandSocket } from "./_doubles.ts";

/** A fetch that serves one new message per download and counts requests. */
function messageServer() {
  let nextId = 1;
  const calls: string[] = [];
  const fetch: typeof globalThis.fetch = (input) => {
    const url = new URL(String(input));
    calls.push(url.pathname);
    const messages = url.pathname.endsWith("messages.json")
      ? [{
        id: nextId,
        id_str: String(nextId),
        umid: 1,
        umid_str: "1",
        aid: 1,
        aid_str: "1",
        message: `m${nextId++}`,
        app: "a",
        icon: "i",
        date: 0,
        priority: 0,
        acked: 0,
      }]
      : [];
    return Promise.resolve(
      Response.json({ status: 1, request: "r", messages }),
    );
  };
  return {
    fetch,
    calls,
    downloads: () => calls.filter((c) => c.endsWith("messages.json")).length,
  };
}

function open(server: ReturnType<typeof messageServer>) {
  const stream = streamMessages({ secret: "s3cret", deviceId: "dev1" }, {
    apiUrl: "https://api.example/1",
    websocketUrl: "wss://push.example/push",
    WebSocket: HandSocket,
    fetch: server.fetch,
  });
  return { stream, iterator: stream[Symbol.asyncIterator]() };
}

test("streamMessages() logs in with one LF-terminated text frame and asks for binary as bytes", async () => {
  const server = messageServer();
  const { stream, iterator } = open(server);
  await iterator.next();
  const socket = HandSocket.last!;
  assert.equal(socket.url, "wss://push.example/push");
  assert.equal(socket.binaryType, "arraybuffer");
  assert.deepEqual(socket.sent, ["login:dev1:s3cret\n"]);
  await stream.close();
  assert.equal(socket.closed, true);
});

for (
  const [kind, payload] of [
    ["a multi-byte text frame", "#!#"],
    ["a Uint8Array", new Uint8Array([0x23, 0x21])],
    ["an ArrayBuffer", new Uint8Array([0x21]).buffer],
    ["a Blob", new Blob(["!"])],
  ] as const
) {
  test(`streamMessages() finds '!' in ${kind} and syncs`, async () => {
    const server = messageServer();
    const { stream, iterator } = open(server);
    assert.equal((await iterator.next()).value?.message, "m1"); // sync on connect
    const next = iterator.next();
    HandSocket.last!.frame(payload);
    assert.equal((await next).value?.message, "m2");
    assert.equal(server.downloads(), 2);
    await stream.close();
  });
}

test("streamMessages() ignores unknown bytes and empty frames", async () => {
  const server = messageServer();
  const { stream, iterator } = open(server);
  await iterator.next();
  HandSocket.last!.frame("#"); // the first frame: the login counts, one more sync
  assert.equal((await iterator.next()).value?.message, "m2");
  const next = iterator.next();
  for (
    const payload of ["Z", "", new Uint8Array([0x00, 0xff]), "#", { odd: true }]
  ) {
    HandSocket.last!.frame(payload);
  }
  // One macrotask turn lets any sync these frames started reach the fetch double.
  await nextTurn();
  assert.equal(server.downloads(), 2);
  HandSocket.last!.frame("!"); // still listening
  assert.equal((await next).value?.message, "m3");
  await stream.close();
});

test("streamMessages() syncs once more on a socket's first frame, and only on its first", async () => {
  const server = messageServer();
  const { stream, iterator } = open(server);
  assert.equal((await iterator.next()).value?.message, "m1"); // sync on connect
  const next = iterator.next();
  await nextTurn();
  assert.equal(server.downloads(), 1, "no frame yet: no second sync");
  HandSocket.last!.frame("#");
  assert.equal((await next).value?.message, "m2");
  const third = iterator.next();
  HandSocket.last!.frame("#"); // a later keep-alive proves nothing new
  await nextTurn();
  assert.equal(server.downloads(), 2);
  HandSocket.last!.frame("!");
  assert.equal((await third).value?.message, "m3");
  await stream.close();
});

test("a MessageStream has an explicit Symbol.asyncDispose that closes it", async () => {
  const server = messageServer();
  const { stream, iterator } = open(server);
  await iterator.next();
  assert.equal(typeof stream[Symbol.asyncDispose], "function");
  await stream[Symbol.asyncDispose]();
  assert.equal(HandSocket.last!.closed, true);
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
});

test("MessageStream.lastFrameAt: none before a frame, each frame moves it, none once stopped", async () => {
  const server = messageServer();
  const { stream, iterator } = open(server);
  assert.equal(stream.lastFrameAt, undefined, "before the start");
  await iterator.next(); // connected, the first message handed out
  assert.equal(stream.lastFrameAt, undefined, "logged in, no frame yet");
  const before = Date.now();
  HandSocket.last!.frame("#");
  const first = stream.lastFrameAt;
  assert.ok(first !== undefined && first >= before, `${first} ≥ ${before}`);
  while (Date.now() === first) await nextTurn(); // the clock moves on
  HandSocket.last!.frame("#");
  assert.ok(stream.lastFrameAt! > first, "a later frame, a later time");
  await stream.close();
  assert.equal(stream.lastFrameAt, undefined);
});
