// The fake's loopback listener on this runtime (node:http, the same code on
// Deno, Bun and Node): what only a real connection shows — a GET's body,
// abrupt drops without a close code, close codes, pings, 404s for other
// methods, and the per-address socket limit. Plus the conventions that are
// options (device key, rate limit, force=1, deletes of nothing) through the
// in-process transport.

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { test } from "node:test";
import { type FakeServer, startFakeServer } from "../testing/mod.ts";
import { PushHub } from "../testing/push.ts";
import { Log } from "../testing/log.ts";
import { Store } from "../testing/store.ts";
import type { ServerSocket } from "../testing/serve.ts";
import {
  call,
  download,
  newDevice,
  openPeer,
  post,
  secretOf,
  socketLogin,
  within,
} from "./_fake_peers.ts";
import { serverTest } from "./_setup.ts";

/** The server as a client reaches it over loopback: the platform's fetch and WebSocket. */
function overLoopback(server: FakeServer): FakeServer {
  return {
    ...server,
    fetch: globalThis.fetch,
    WebSocket: globalThis.WebSocket as unknown as FakeServer["WebSocket"],
  };
}

/** A GET with a form body, which fetch cannot send: node:http can. */
function getWithBody(
  url: string,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: "GET",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "content-length": String(Buffer.byteLength(body)),
      },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => text += chunk);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

serverTest(
  "the listener reads the parameters of a GET from its form body",
  async ({ server }) => {
    const loopback = overLoopback(server);
    const { secret, deviceId } = await newDevice(loopback);
    const reply = await getWithBody(
      `${server.apiUrl}/messages.json`,
      new URLSearchParams({ secret, device_id: deviceId }).toString(),
    );
    assert.equal(reply.status, 200, reply.text);
    assert.match(reply.text, /Welcome to Pushover!/);
    const [entry] = server.log.requests("download");
    assert.deepEqual(entry.query, {});
    assert.equal(entry.body.device_id, deviceId);
  },
  { listen: true },
);

serverTest(
  "the listener answers HEAD, PUT and DELETE on /1/messages.json with the site's 404",
  async ({ server }) => {
    const loopback = overLoopback(server);
    for (const method of ["HEAD", "PUT", "DELETE"]) {
      const reply = await call(loopback, `${server.apiUrl}/messages.json`, {
        method,
      });
      assert.equal(reply.status, 404, method);
      assert.equal(reply.json, undefined, method);
      assert.match(reply.contentType, /text\/html/, method);
    }
  },
  { listen: true },
);

// A lost network has no close code: the client reports 1006 (Deno: 0).
const NO_CODE = [0, 1006];

for (
  const [name, end, codes] of [
    [
      "dropSockets() ends a socket with no close frame, as a lost network does",
      (
        server: FakeServer,
        deviceId: string,
      ) => server.dropSockets(deviceId),
      NO_CODE,
    ],
    ["closeSockets(4001) ends a socket with a close frame carrying 4001", (
      server: FakeServer,
      deviceId: string,
    ) => server.closeSockets(4001, deviceId), [4001]],
  ] as const
) {
  for (const transport of ["loopback", "in-process"] as const) {
    serverTest(
      `${name} (${transport})`,
      async ({ server }) => {
        const view = transport === "loopback" ? overLoopback(server) : server;
        const { secret, deviceId } = await newDevice(view);
        const ws = new view.WebSocket(server.websocketUrl);
        const closed = new Promise<{ code: number; wasClean: boolean }>(
          (resolve) =>
            ws.addEventListener("close", (e) => resolve(e as CloseEvent)),
        );
        await new Promise((resolve) => ws.addEventListener("open", resolve));
        ws.send(`login:${deviceId}:${secret}\n`);
        await server.waitForLogin(deviceId);
        assert.equal(end(server, deviceId), 1);
        const { code, wasClean } = await within(closed, "the close event");
        assert.ok((codes as readonly number[]).includes(code), `code ${code}`);
        assert.equal(wasClean, codes !== NO_CODE);
      },
      { listen: transport === "loopback" },
    );
  }
}

serverTest(
  "the listener lets socketsPerAddress sockets in from one address and answers the next upgrade with 429",
  async ({ server }) => {
    const loopback = overLoopback(server);
    const peers = [openPeer(loopback), openPeer(loopback)];
    await Promise.all(peers.map((p) => within(p.opened, "a socket to open")));
    const third = openPeer(loopback);
    await assert.rejects(within(third.opened, "the refused socket"));
    assert.ok(peers.every((p) => !p.isClosed()));
    await peers[0].close();
    const fourth = openPeer(loopback);
    await within(fourth.opened, "a socket once one closed");
    await Promise.all([peers[1].close(), fourth.close()]);
  },
  { listen: true, socketsPerAddress: 2 },
);

serverTest(
  "the listener's pings are answered by the runtime's WebSocket: the socket stays",
  async ({ server }) => {
    const loopback = overLoopback(server);
    const { secret, deviceId } = await newDevice(loopback);
    const peer = openPeer(loopback);
    await socketLogin(server, peer, deviceId, secret);
    // Three answered pings: an unanswered one would have closed it at the
    // next. Each pong has one interval to come back; 200 ms, not less, so a
    // busy machine's scheduling is not taken for a missing pong.
    let pongs = 0;
    await within(
      server.log.waitFor((e) =>
        e.kind === "socket" && e.event === "pong" && ++pongs === 3
      ),
      "three pongs",
    );
    assert.equal(peer.isClosed(), false);
    assert.equal(server.connections(deviceId), 1);
    await peer.close();
  },
  { listen: true, pingInterval: 200 },
);

/** A ServerSocket that records pings and never answers them. */
function silentSocket() {
  const calls: string[] = [];
  const socket: ServerSocket = {
    address: "test",
    send: () => calls.push("send"),
    close: (code) => calls.push(`close ${code}`),
    terminate: () => calls.push("terminate"),
    ping: () => calls.push("ping"),
  };
  return { socket, calls };
}

function hub(pingInterval: number): PushHub {
  const store = new Store({
    secretPerLogin: true,
    firstMessageId: 1n,
    now: () => 0,
  });
  return new PushHub(store, new Log(), {
    keepAliveInterval: 0,
    frameKind: "binary",
    pingInterval,
    socketsPerAddress: Infinity,
    loginDelay: 0,
  });
}

test("the hub closes a socket with 1001 when a ping is still unanswered at the next one", async () => {
  const { socket, calls } = silentSocket();
  const events = hub(5).accept(socket);
  await within(
    new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (calls.includes("close 1001")) {
          clearInterval(timer);
          resolve();
        }
      }, 2);
    }),
    "the close",
  );
  assert.deepEqual(calls, ["ping", "close 1001"]);
  events.close();
});

test("the hub keeps a socket that answers its pings, and sends none without pingInterval", async () => {
  const answering = silentSocket();
  const events = hub(5).accept(answering.socket);
  const idle = silentSocket();
  const idleEvents = hub(0).accept(idle.socket);
  let pings = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = answering.calls.filter((c) => c === "ping").length;
      if (now > pings) {
        pings = now;
        events.pong?.();
      }
      if (pings >= 4) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  assert.ok(!answering.calls.some((c) => c.startsWith("close")));
  assert.deepEqual(idle.calls, []);
  events.close();
  idleEvents.close();
});

serverTest(
  "the fake names a rejected device by device_id by default",
  async ({ server }) => {
    const secret = await secretOf(server);
    const reply = await download(server, secret, "nosuchdevice");
    assert.equal(reply.status, 400);
    assert.equal(reply.json?.device_id, "invalid");
    assert.deepEqual(reply.json?.errors, ["device_id is invalid"]);
  },
);

serverTest(
  "the fake names a rejected device by 'device' with deviceErrorKey 'device'",
  async ({ server }) => {
    const secret = await secretOf(server);
    const reply = await download(server, secret, "nosuchdevice");
    assert.equal(reply.json?.device, "invalid");
    assert.equal(reply.json?.device_id, undefined);
  },
  { deviceErrorKey: "device" },
);

serverTest(
  "the fake answers 429 with Retry-After past rateLimit requests a minute to one endpoint",
  async ({ server }) => {
    const { secret, deviceId } = await newDevice(server);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await download(server, secret, deviceId)).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const limited = await call(
      server,
      `${server.apiUrl}/messages.json?secret=${secret}&device_id=${deviceId}`,
    );
    assert.equal(limited.status, 429);
    assert.deepEqual(limited.json?.status, 0);
    // Other endpoints have minutes of their own.
    const ack = await post(server, "/receipts/none/acknowledge.json", {
      secret,
    });
    assert.equal(ack.status, 400);
  },
  { rateLimit: 3 },
);

/**
 * A device "desk" with a socket logged in as it, and how to register the
 * name again (with `force: "1"` to take it over).
 */
async function takenDesk(server: FakeServer) {
  const secret = await secretOf(server);
  const register = (extra: Record<string, string> = {}) =>
    post(server, "/devices.json", { secret, name: "desk", os: "O", ...extra });
  const id = (await register()).json!.id as string;
  const peer = openPeer(server);
  await socketLogin(server, peer, id, secret);
  return { secret, id, peer, register };
}

serverTest(
  "the fake lets force=1 take a taken name over: a new id, the old one refused and its socket told 'E'",
  async ({ server }) => {
    const { secret, id: oldId, peer, register } = await takenDesk(server);
    const taken = await register();
    assert.equal(taken.status, 400);
    assert.deepEqual(taken.json?.errors, {
      name: ["has already been taken"],
    });
    const forced = await register({ force: "1" });
    assert.equal(forced.status, 200, forced.text);
    const newId = forced.json!.id as string;
    assert.notEqual(newId, oldId);
    assert.equal(await within(peer.next(), "the 'E' frame"), "E");
    assert.equal((await download(server, secret, oldId)).status, 400);
    assert.equal((await download(server, secret, newId)).status, 200);
    await peer.close();
  },
);

serverTest(
  "the fake with forceRegistration 'same id' answers force=1 with the device's own id: its queue and socket stay",
  async ({ server }) => {
    const { secret, id, peer, register } = await takenDesk(server);
    const forced = await register({ force: "1" });
    assert.equal(forced.status, 200, forced.text);
    assert.equal(forced.json!.id, id);
    // No 'E' came first: the next frame is the '!' of a message sent now.
    server.send({ message: "still here" });
    assert.equal(await within(peer.next(), "the '!' frame"), "!");
    const queue = await download(server, secret, id);
    assert.deepEqual(
      (queue.json!.messages as { message: string }[]).map((m) => m.message)
        .slice(1),
      ["still here"],
    );
    await peer.close();
  },
  { forceRegistration: "same id" },
);

for (const deleteNothing of ["success", "error"] as const) {
  serverTest(
    `the fake with deleteNothing '${deleteNothing}': a delete that deletes nothing ${
      deleteNothing === "error" ? "is a 400" : "succeeds"
    }; one above every id empties the queue`,
    async ({ server }) => {
      const { secret, deviceId } = await newDevice(server);
      server.send({ message: "one" });
      const ids = ((await download(server, secret, deviceId)).json!
        .messages as { id_str: string }[]).map((m) => BigInt(m.id_str));
      const remove = (through: bigint | string) =>
        post(server, `/devices/${deviceId}/update_highest_message.json`, {
          secret,
          message: String(through),
        });
      assert.equal((await remove(ids[0])).status, 200, "the welcome");
      const nothing = [await remove(ids[0]), await remove(ids[0] - 1n)];
      for (const reply of nothing) {
        if (deleteNothing === "success") {
          assert.equal(reply.status, 200, reply.text);
        } else {
          assert.equal(reply.status, 400, reply.text);
          assert.equal(reply.json?.message, "invalid");
        }
      }
      assert.equal((await remove(ids[1] + 1000n)).status, 200);
      assert.equal(server.store.devices.get(deviceId)!.queue.length, 0);
      assert.equal(
        (await remove(ids[1] + 2000n)).status,
        deleteNothing === "error" ? 400 : 200,
        "nothing queued: nothing to delete",
      );
      assert.equal((await remove("12x")).status, 400, "not a number");
    },
    { deleteNothing },
  );
}

test("the fake refuses a convention it does not know, in one line naming the option and its values", async () => {
  for (
    const [options, line] of [
      [
        { forceRegistration: "same" },
        `startFakeServer: 'forceRegistration' must be "new id" or "same id": current value is "same"`,
      ],
      [
        { unknownReceiptStatus: "404" },
        `startFakeServer: 'unknownReceiptStatus' must be 400 or 404: current value is "404"`,
      ],
      [
        { deleteNothing: true },
        `startFakeServer: 'deleteNothing' must be "success" or "error": current value is true`,
      ],
      [
        { wrongTwofaStatus: 401 },
        `startFakeServer: 'wrongTwofaStatus' must be 412 or 400: current value is 401`,
      ],
    ] as const
  ) {
    await assert.rejects(
      startFakeServer({ listen: false, ...options } as never),
      (error: Error) => error instanceof TypeError && error.message === line,
    );
  }
});

for (const over of ["in-process", "loopback"] as const) {
  serverTest(
    `the ${over} WebSocket has the platform's shape: on… handlers, the state constants, and close() refusing a code a client may not send`,
    async ({ server }) => {
      const net = over === "loopback" ? overLoopback(server) : server;
      const Socket = net.WebSocket as unknown as typeof WebSocket;
      assert.deepEqual(
        [Socket.CONNECTING, Socket.OPEN, Socket.CLOSING, Socket.CLOSED],
        [0, 1, 2, 3],
      );
      const { secret, deviceId } = await newDevice(net);
      const socket = new Socket(server.websocketUrl);
      assert.equal(socket.OPEN, 1);
      const seen: string[] = [];
      const closed = new Promise<void>((resolve) => {
        socket.onopen = () => {
          seen.push("open");
          socket.send(`login:${deviceId}:${secret}\n`);
        };
        socket.onmessage = (event) => {
          seen.push(`message ${typeof event.data}`);
          // The standard's rule (Deno's and Node's sockets keep it; Bun's
          // lets 1001 through, so the loopback run does not ask).
          if (over === "in-process") {
            assert.throws(() => socket.close(1001), {
              name: "InvalidAccessError",
            });
          }
          socket.close(1000);
        };
        socket.onclose = (event) => {
          seen.push(`close ${event.code}`);
          resolve();
        };
      });
      await server.waitForLogin(deviceId);
      server.sendFrame("#", deviceId);
      await closed;
      assert.deepEqual(seen.slice(-1), ["close 1000"]);
      assert.equal(seen[0], "open");
      assert.ok(
        seen.includes("message object") || seen.includes("message string"),
      );
    },
    { listen: over === "loopback" },
  );
}

for (
  const [label, path, headers] of [
    [
      "to another path (404)",
      "/nope",
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    ],
    [
      "without a key (400)",
      "/push",
      "Upgrade: websocket\r\nConnection: Upgrade\r\n",
    ],
  ] as const
) {
  test(`close() ends even while a client refused an upgrade ${label} keeps its half of the connection open`, async () => {
    const server = await startFakeServer({ keepAliveInterval: 0 });
    const socket = connect({
      port: Number(new URL(server.assetUrl).port),
      host: "127.0.0.1",
      allowHalfOpen: true, // reads the answer, does not hang up
    });
    socket.on("error", () => {});
    try {
      await new Promise((resolve) => socket.once("connect", resolve));
      const answered = new Promise((resolve) => socket.once("data", resolve));
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
      await answered;
      let safety: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        server.close(),
        new Promise((_, reject) => {
          // A safety net only: close() ends at once.
          safety = setTimeout(() => reject(new Error("close() hung")), 30_000);
        }),
      ]);
      clearTimeout(safety);
    } finally {
      socket.destroy();
      await server.close();
    }
  });
}

for (const over of ["in-process", "loopback"] as const) {
  serverTest(
    `close() ends a logged-in ${over} socket with 1001, cleanly, as a server going away does`,
    async ({ server }) => {
      const net = over === "loopback" ? overLoopback(server) : server;
      const Socket = net.WebSocket as unknown as typeof WebSocket;
      const { secret, deviceId } = await newDevice(net);
      const socket = new Socket(server.websocketUrl);
      const closed = new Promise<CloseEvent>((resolve) =>
        socket.addEventListener(
          "close",
          (event) => resolve(event as CloseEvent),
        )
      );
      socket.addEventListener(
        "open",
        () => socket.send(`login:${deviceId}:${secret}\n`),
      );
      await server.waitForLogin(deviceId);
      await server.close();
      const { code, wasClean } = await closed;
      assert.deepEqual({ code, wasClean }, { code: 1001, wasClean: true });
    },
    { listen: over === "loopback" },
  );
}
