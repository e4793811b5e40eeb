// The WebSocket half of the stream (lib/_connection.ts) with sockets the
// test drives by hand: every way a socket can fail, what each is reported
// as, and which socket's events still count.

import { SuspendWatch } from "../lib/_suspend.ts";
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Connection,
  type ConnectionSettings,
  type SyncCause,
} from "../lib/_connection.ts";
import { LoginRequiredError, SessionReplacedError } from "../mod.ts";
import type { PushoverError, StreamStatus } from "../mod.ts";
import { HandSocket } from "./_doubles.ts";
import { nextTurn, within } from "./_setup.ts";

// HandSocket opens in a microtask; this makes a socket swallow that "open",
// so it never opens.
const swallowFirstOpen = (socket: HandSocket) => {
  const stop = (event: Event) => {
    event.stopImmediatePropagation();
    socket.removeEventListener("open", stop);
  };
  socket.addEventListener("open", stop);
};

/** A connection over `WebSocket` with millisecond timing, and what it reported. */
function connection(
  WebSocket: ConnectionSettings["WebSocket"],
  settings: Partial<ConnectionSettings> = {},
  onStatus: (status: StreamStatus) => void = () => {},
) {
  const statuses: StreamStatus[] = [];
  const fatal: PushoverError[] = [];
  const synced: Record<SyncCause, number> = {
    connected: 0,
    "login heard": 0,
    "new messages": 0,
  };
  const link = new Connection({
    websocketUrl: "wss://push.example/push",
    device: { deviceId: "d1", secret: "s1" },
    WebSocket,
    keepAliveTimeout: 60_000,
    connectTimeout: 60_000,
    retryDelay: { min: 1, max: 1, resetAfter: 60_000 },
    ...settings,
  }, {
    sync: (cause) => synced[cause]++,
    fatal: (error) => fatal.push(error),
    status: (status) => {
      statuses.push(status);
      onStatus(status);
    },
  });
  return {
    link,
    statuses,
    fatal,
    connected: () => synced.connected,
    heard: () => synced["login heard"],
    bangs: () => synced["new messages"],
    reasons: () =>
      statuses.flatMap((s) => s.state === "reconnecting" ? [s.reason] : []),
  };
}

/** Resolves once `test()` holds, checked every turn; fails after 2 s. */
async function until(test: () => boolean, what: string): Promise<void> {
  await within(
    (async () => {
      while (!test()) await nextTurn();
    })(),
    what,
    2_000,
  );
}

test("Connection logs in on open, reports connected, and counts '!' frames", async () => {
  const c = connection(HandSocket);
  c.link.start();
  await until(() => c.connected() === 1, "the login");
  const socket = HandSocket.last!;
  assert.equal(socket.binaryType, "arraybuffer");
  assert.deepEqual(socket.sent, ["login:d1:s1\n"]);
  assert.deepEqual(c.statuses, [
    { state: "connecting", attempt: 1 },
    { state: "connected" },
  ]);
  socket.frame("!");
  socket.frame(new Uint8Array([0x21, 0x23, 0x21]));
  assert.equal(c.bangs(), 3);
  // A run of '!' in one frame is one request for a sync; a frame of text
  // and one of bytes read alike, and 'é' (two UTF-8 bytes) is no command.
  socket.frame("!!!!");
  socket.frame(new Uint8Array([0x21, 0x21, 0x23, 0x23, 0x21]));
  socket.frame("!é!é");
  assert.equal(c.bangs(), 3 + 1 + 2 + 2);
  c.link.stop();
  assert.equal(socket.closed, true);
});

test("Connection tells of a socket's first frame once, and of no later one", async () => {
  const c = connection(HandSocket);
  c.link.start();
  await until(() => c.connected() === 1, "the login");
  assert.equal(c.heard(), 0, "the login itself proves nothing");
  HandSocket.last!.frame("#");
  HandSocket.last!.frame("#");
  assert.equal(c.heard(), 1);
  c.link.stop();
});

test("Connection does not tell of a first frame that ends the link (E)", async () => {
  const c = connection(HandSocket);
  c.link.start();
  await until(() => c.connected() === 1, "the login");
  HandSocket.last!.frame("E");
  assert.equal(c.heard(), 0);
  assert.equal(c.fatal.length, 1);
});

test("Connection's watchdog counts keepAliveTimeout from the last frame, not from the login", async () => {
  // The frame must come halfway to the deadline; a machine too busy to send
  // it in time makes an attempt that proves nothing, so it is tried again.
  for (let attempt = 1;; attempt++) {
    const c = connection(HandSocket, { keepAliveTimeout: 200 });
    c.link.start();
    await until(() => c.connected() === 1, "the login");
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (c.reasons().length > 0) {
      c.link.stop();
      assert.ok(attempt < 5, "the machine never sent the frame in time");
      continue;
    }
    // Read before the frame: the connection's own clock for it starts
    // after this, so the silence measured here is never shorter than its.
    const lastFrame = performance.now();
    HandSocket.last!.frame("#");
    await until(() => c.reasons().length === 1, "the watchdog");
    const silence = performance.now() - lastFrame;
    c.link.stop();
    assert.deepEqual(c.reasons(), ["no frame for 200 ms"]);
    // Timers never fire early: a watchdog that ignored the frame fires
    // about 100 ms after it.
    assert.ok(
      silence >= 199,
      `replaced ${silence.toFixed(1)} ms after the last frame`,
    );
    return;
  }
});

test("Connection gives up on a socket that does not open within connectTimeout", async () => {
  const made: HandSocket[] = [];
  class Never extends HandSocket {
    constructor(url: string) {
      super(url);
      swallowFirstOpen(this);
      made.push(this);
    }
  }
  const c = connection(Never, { connectTimeout: 5 });
  c.link.start();
  await until(() => made.length >= 2, "a second socket");
  c.link.stop();
  assert.equal(c.reasons()[0], "the connection did not open within 5 ms");
  assert.equal(made[0].closed, true, "the first socket was left");
  assert.equal(c.connected(), 0);
});

test("Connection retries when the WebSocket constructor throws, with what it threw, readable or not", async () => {
  let calls = 0;
  class Throwing extends HandSocket {
    constructor(url: string) {
      // The first attempt runs in start(), the second in a timer, where a
      // throw would end the process: neither may throw on.
      // A constructor of the user's may show the device's secret ("s1").
      if (++calls === 1) throw new SyntaxError("bad URL for s1");
      if (calls === 2) throw Object.create(null); // no string form at all
      super(url);
    }
  }
  const c = connection(Throwing);
  c.link.start();
  await until(() => c.connected() === 1, "the third attempt");
  c.link.stop();
  assert.deepEqual(c.reasons(), [
    "bad URL for [redacted]",
    "an error that cannot be read",
  ]);
  assert.deepEqual(c.statuses.slice(0, 3), [
    { state: "connecting", attempt: 1 },
    {
      state: "reconnecting",
      attempt: 2,
      delay: 1,
      reason: "bad URL for [redacted]",
    },
    { state: "connecting", attempt: 2 },
  ]);
});

for (
  const [event, reason] of [
    ["close", "the connection closed"],
    ["error", "the connection failed"],
  ] as const
) {
  test(`Connection reconnects after '${event}' and reports "${reason}"`, async () => {
    const c = connection(HandSocket);
    c.link.start();
    await until(() => c.connected() === 1, "the login");
    const first = HandSocket.last!;
    first.dispatchEvent(new Event(event));
    await until(() => c.connected() === 2, "the reconnect");
    c.link.stop();
    assert.deepEqual(c.reasons(), [reason]);
    assert.notEqual(HandSocket.last, first);
  });
}

test("Connection ignores events of a socket it has left", async () => {
  const c = connection(HandSocket);
  c.link.start();
  await until(() => c.connected() === 1, "the login");
  const first = HandSocket.last!;
  first.dispatchEvent(new Event("close"));
  await until(() => c.connected() === 2, "the reconnect");
  const bangs = c.bangs();
  first.frame("!");
  first.dispatchEvent(new Event("close"));
  first.dispatchEvent(new Event("error"));
  first.dispatchEvent(new Event("open"));
  await nextTurn();
  assert.equal(c.bangs(), bangs, "a frame of the old socket counted");
  assert.equal(c.reasons().length, 1, "a close of the old socket counted");
  assert.equal(c.connected(), 2);
  // The new socket is still the one in use: stop closes it.
  const second = HandSocket.last!;
  c.link.stop();
  assert.equal(second.closed, true);
});

test("Connection stops at 'E' and 'A' with their errors, and does not reconnect", async () => {
  for (
    const [frame, kind] of [["E", LoginRequiredError], [
      "A",
      SessionReplacedError,
    ]] as const
  ) {
    const c = connection(HandSocket);
    c.link.start();
    await until(() => c.connected() === 1, "the login");
    const socket = HandSocket.last!;
    socket.frame(`!${frame}!`); // nothing after the fatal byte counts
    assert.equal(c.fatal.length, 1);
    assert.ok(c.fatal[0] instanceof kind);
    assert.match(
      c.fatal[0].message,
      frame === "E"
        ? /^Stream stopped: the server refused the device's login \(E\); log in again or re-enable the device$/
        : /^Stream stopped: another client logged in as this device \(A\); not reconnecting$/,
    );
    assert.equal(c.bangs(), 1);
    assert.equal(socket.closed, true);
    socket.dispatchEvent(new Event("close"));
    await nextTurn();
    assert.deepEqual(c.reasons(), []);
    assert.equal(HandSocket.last, socket);
  }
});

test("Connection reads a Blob frame when the runtime ignored binaryType", async () => {
  const c = connection(HandSocket);
  c.link.start();
  await until(() => c.connected() === 1, "the login");
  HandSocket.last!.frame(new Blob([new Uint8Array([0x21])]));
  await until(() => c.bangs() === 1, "the '!' inside the Blob");
  c.link.stop();
});

test("Connection treats a socket whose login cannot be sent as gone when it closes", async () => {
  class Unsendable extends HandSocket {
    override send(): void {
      throw new Error("not open");
    }
  }
  const c = connection(Unsendable);
  c.link.start();
  await nextTurn();
  assert.equal(c.connected(), 0);
  HandSocket.last!.dispatchEvent(new Event("close"));
  await nextTurn();
  assert.deepEqual(c.reasons(), ["the connection closed"]);
  c.link.stop();
});

test("Connection keeps a socket that opened in time: the connect timeout is over once it is open", async () => {
  const c = connection(HandSocket, { connectTimeout: 10 });
  c.link.start();
  await until(() => c.connected() === 1, "the login");
  const socket = HandSocket.last!;
  // Three times the connect timeout, to prove it was cleared at the open.
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(HandSocket.last, socket);
  assert.equal(socket.closed, false);
  assert.deepEqual(c.reasons(), []);
  c.link.stop();
});

test("Connection ignores a Blob frame that arrives after its socket was left", async () => {
  const c = connection(HandSocket);
  c.link.start();
  await until(() => c.connected() === 1, "the login");
  const first = HandSocket.last!;
  // A Blob whose bytes the test releases later.
  let release!: (bytes: ArrayBuffer) => void;
  const slow = new Blob(["!"]);
  slow.arrayBuffer = () => new Promise((resolve) => release = resolve);
  first.frame(slow);
  first.dispatchEvent(new Event("close")); // the socket is left meanwhile
  await until(() => c.connected() === 2, "the reconnect");
  release(new Uint8Array([0x21]).buffer); // now on an open, newer link
  await nextTurn();
  assert.equal(c.bangs(), 0, "the old socket's frame counted");
  const second = HandSocket.last!;
  c.link.stop();
  assert.equal(second.closed, true, "the old socket became the link's again");
});

test("Connection's state: waiting, opening, open, waiting after a loss, stopped", async () => {
  const c = connection(HandSocket, {
    retryDelay: { min: 60_000, max: 60_000, resetAfter: 60_000 },
  });
  assert.equal(c.link.state, "waiting");
  c.link.start();
  assert.equal(c.link.state, "opening");
  await until(() => c.connected() === 1, "the login");
  assert.equal(c.link.state, "open");
  HandSocket.last!.frame("#"); // a frame renews the watchdog, still open
  assert.equal(c.link.state, "open");
  HandSocket.last!.dispatchEvent(new Event("close"));
  assert.equal(c.link.state, "waiting");
  c.link.stop();
  assert.equal(c.link.state, "stopped");
});

test(`Connection does not report a link as connected once a "connected" status handler stopped it`, async () => {
  const c = connection(HandSocket, {}, (status) => {
    if (status.state === "connected") c.link.stop();
  });
  c.link.start();
  await until(() => c.link.state === "stopped", "the stop");
  await nextTurn();
  assert.equal(c.connected(), 0);
  assert.equal(HandSocket.last!.closed, true);
});

for (const at of ["connecting", "reconnecting"] as const) {
  test(`Connection opens nothing more when a "${at}" status handler stops it`, async () => {
    let made = 0;
    class Counted extends HandSocket {
      constructor(url: string) {
        super(url);
        made++;
      }
    }
    const c = connection(Counted, {}, (status) => {
      if (status.state === at) c.link.stop();
    });
    c.link.start();
    if (at === "reconnecting") {
      await until(() => c.connected() === 1, "the login");
      HandSocket.last!.dispatchEvent(new Event("close"));
    }
    // Ten times the 1 ms retry delay: a reconnect would have happened.
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(made, at === "connecting" ? 0 : 1);
    assert.equal(c.link.state, "stopped");
  });
}

test("Connection leaves an error listener on a socket it left: an EventEmitter socket (the ws package) throws on an unheard error", async () => {
  class Emitter extends HandSocket {
    errorListeners = 0;
    override addEventListener(
      type: string,
      listener: EventListenerOrEventListenerObject | null,
    ): void {
      if (type === "error") this.errorListeners++;
      super.addEventListener(type, listener);
    }
    override removeEventListener(
      type: string,
      listener: EventListenerOrEventListenerObject | null,
    ): void {
      if (type === "error") this.errorListeners--;
      super.removeEventListener(type, listener);
    }
  }
  const c = connection(Emitter);
  c.link.start();
  await until(() => c.connected() === 1, "the login");
  const first = HandSocket.last as Emitter;
  first.dispatchEvent(new Event("close"));
  await until(() => c.connected() === 2, "the reconnect");
  assert.equal(first.errorListeners, 1, "the left socket's error listeners");
  first.dispatchEvent(new Event("error"));
  assert.deepEqual(c.reasons(), ["the connection closed"]);
  c.link.stop();
});

test("Connection ignores a frame that is neither text nor bytes", async () => {
  const c = connection(HandSocket);
  c.link.start();
  await until(() => c.connected() === 1, "the login");
  HandSocket.last!.frame([0x21]); // an array of numbers is not a frame
  HandSocket.last!.frame(0x21);
  assert.equal(c.bangs(), 0);
  HandSocket.last!.frame(new Uint8Array([0x21]).buffer);
  assert.equal(c.bangs(), 1);
  c.link.stop();
});

test("Connection renews a settled link at once on 'R', and counts an 'R' on the young link that follows as a failure", async () => {
  let now = 0;
  const c = connection(HandSocket, {
    now: () => now,
    retryDelay: { min: 1, max: 1, resetAfter: 1_000 },
  });
  c.link.start();
  await until(() => c.connected() === 1, "the login");
  now += 1_000; // healthy for resetAfter: settled
  HandSocket.last!.frame("R");
  await until(() => c.connected() === 2, "the renewal");
  HandSocket.last!.frame("R"); // at once: a young link
  await until(() => c.connected() === 3, "the retry");
  c.link.stop();
  const reconnects = c.statuses.flatMap((s) =>
    s.state === "reconnecting" ? [[s.attempt, s.delay]] : []
  );
  assert.deepEqual(reconnects, [[1, 0], [2, 1]]);
});

test("Connection starts its retries over after a suspend: attempt 1, no delay", async () => {
  let now = 0;
  let failing = 3;
  class FailingFirst extends HandSocket {
    constructor(url: string) {
      super(url);
      if (failing-- > 0) {
        swallowFirstOpen(this);
        queueMicrotask(() => this.dispatchEvent(new Event("close")));
      }
    }
  }
  const c = connection(FailingFirst, {
    now: () => now,
    suspendWatch: new SuspendWatch({
      now: () => now,
      tickInterval: 5,
      threshold: 1_000,
    }),
  });
  c.link.start();
  await until(() => c.connected() === 1, "the login after three failures");
  assert.equal(c.reasons().length, 3);
  now += 1_005; // one tick, a whole threshold late
  await until(() => c.connected() === 2, "the reconnect after the suspend");
  c.link.stop();
  assert.deepEqual(
    c.statuses.filter((s) => s.state === "reconnecting").at(-1),
    {
      state: "reconnecting",
      attempt: 1,
      delay: 0,
      reason: "the process was suspended for about 1 s",
    },
  );
});
