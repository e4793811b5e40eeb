// streamMessages() after a suspend: a laptop's sleep or SIGSTOP leaves the
// socket dead without a close; the stream notices the lost time and
// reconnects at once instead of waiting out its 90 s watchdog. And sockets
// given up for dead are dropped, not left open, where the runtime can.

import { SuspendWatch } from "../lib/_suspend.ts";
import assert from "node:assert/strict";
import process from "node:process";
import { Connection, type ConnectionSettings } from "../lib/_connection.ts";
import type { StreamStatus, WebSocketConstructor } from "../mod.ts";
import { startScript } from "./_spawn.ts";
import { newDevice, serverTest, within } from "./_setup.ts";

/**
 * How long the child is stopped: long enough that a tick of the 10 s suspend
 * timer falls due at least 4 s before SIGCONT, whatever the phase.
 */
const SUSPEND_MS = 15_000;

// The mutation task skips it: 15 s per mutant would make the run take hours;
// the clocked Connection tests below cover the same logic in milliseconds.
const skipSlow = process.env.PUSHOVER_SKIP_SLOW_TESTS === "1";

serverTest(
  `streamMessages() delivers after SIGCONT, not a keep-alive timeout later, after a ${
    SUSPEND_MS / 1000
  } s SIGSTOP on a dead but open link`,
  async (context) => {
    const { server } = context;
    const device = await newDevice(context);
    const child = startScript("tests/fixtures/suspend_stream.ts", {
      args: [JSON.stringify({
        apiUrl: server.apiUrl,
        websocketUrl: server.websocketUrl,
        device,
      })],
    });
    try {
      await child.waitFor("stdout", "got Your device");
      await server.waitForLogin(device.deviceId);
      child.signal("SIGSTOP");
      server.muteSockets(device.deviceId); // open, but nothing gets through
      server.send({ message: "while asleep" }); // its '!' reaches no one
      await new Promise((resolve) => setTimeout(resolve, SUSPEND_MS));
      child.signal("SIGCONT");
      // The child's watchdog waits ten minutes: the message can only come
      // from the suspend watch. How soon it comes is the bench's to say.
      await child.waitFor("stdout", "got while asleep", 60_000);
      // Late by the part of the stop after the tick's due time: 5 to 15 s.
      assert.match(
        child.output().stderr,
        /suspended for about ([5-9]|1[0-5]) s/,
      );
      child.signal("SIGTERM");
      assert.equal((await child.exited).code, 0);
    } finally {
      await child.kill();
    }
  },
  // A child process needs the listener. It is stopped for SUSPEND_MS; the
  // rest takes a second or two.
  {
    listen: true,
    keepAliveInterval: 0,
    skip: skipSlow && "PUSHOVER_SKIP_SLOW_TESTS=1 (the mutation task)",
  },
);

type Context = Parameters<Parameters<typeof serverTest>[1]>[0];

/** A Connection to the fake for `device`, recording what it reports. */
function connectionTo(
  context: Context,
  device: { secret: string; deviceId: string },
  settings: Partial<ConnectionSettings> = {},
) {
  const statuses: StreamStatus[] = [];
  let connects = 0;
  const connection = new Connection({
    websocketUrl: context.server.websocketUrl,
    device,
    WebSocket: context.server.WebSocket,
    keepAliveTimeout: 60_000,
    connectTimeout: 10_000,
    retryDelay: { min: 5_000, max: 60_000, resetAfter: 60_000 },
    ...settings,
  }, {
    sync: (cause) => void (cause === "connected" && connects++),
    fatal: () => {},
    status: (status) => statuses.push(status),
  });
  return { connection, statuses, connects: () => connects };
}

/** A Connection against the fake whose wall clock the test moves. */
function clockedConnection(
  context: Context,
  device: { secret: string; deviceId: string },
) {
  let now = 1_000_000;
  const { connection, statuses, connects } = connectionTo(context, device, {
    now: () => now,
    suspendWatch: new SuspendWatch({
      now: () => now,
      tickInterval: 5,
      threshold: 1_000,
    }),
  });
  return {
    connection,
    statuses,
    connects,
    /** Moves the wall clock; the next tick compares it with the timer. */
    advance: (ms: number) => now += ms,
  };
}

serverTest(
  "Connection reconnects at once when the wall clock jumps past its tick: the process was suspended",
  async (context) => {
    const device = await newDevice(context);
    const link = clockedConnection(context, device);
    link.connection.start();
    try {
      await context.server.waitForLogin(device.deviceId);
      // Exactly the threshold late (1 000 ms past the 5 ms tick): a suspend.
      link.advance(1_005);
      await within(
        context.server.waitForLogin(device.deviceId, 2),
        "a second login",
      );
      const reconnect = link.statuses.find((s) => s.state === "reconnecting");
      assert.deepEqual(reconnect, {
        state: "reconnecting",
        attempt: 1,
        delay: 0,
        reason: "the process was suspended for about 1 s",
      });
      assert.equal(link.connects(), 2);
    } finally {
      link.connection.stop();
    }
  },
);

serverTest(
  "Connection keeps its link while the wall clock moves with its ticks",
  async (context) => {
    const device = await newDevice(context);
    const link = clockedConnection(context, device);
    link.connection.start();
    try {
      await context.server.waitForLogin(device.deviceId);
      // Forty ticks, each on time (the clock moves 5 ms per tick) or a bit late.
      let ticks = 0;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          link.advance(ticks % 2 === 0 ? 5 : 900);
          if (++ticks === 40) {
            clearInterval(timer);
            resolve();
          }
        }, 5);
      });
      // Once a tick has taken the last move in: one tick 1 004 ms on a 5 ms
      // timer, 999 ms late, just short of the threshold.
      await new Promise((resolve) => setTimeout(resolve, 30));
      link.advance(1_004);
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.equal(link.connects(), 1);
      assert.ok(!link.statuses.some((s) => s.state === "reconnecting"));
    } finally {
      link.connection.stop();
    }
  },
);

/** Sockets that have terminate() (as Bun's do) and record how each ended. */
function terminableSockets(Native: Context["server"]["WebSocket"]) {
  const ended: string[] = [];
  class Terminable extends Native {
    terminate(): void {
      ended.push("terminate");
      super.close();
    }
    override close(code?: number): void {
      ended.push(`close ${code}`);
      super.close(code);
    }
  }
  return { WebSocket: Terminable as unknown as WebSocketConstructor, ended };
}

serverTest(
  "Connection terminates a socket it gives up on where the runtime can, and closes it politely at stop",
  async (context) => {
    const device = await newDevice(context);
    const sockets = terminableSockets(context.server.WebSocket);
    const { connection } = connectionTo(context, device, {
      WebSocket: sockets.WebSocket,
      keepAliveTimeout: 30,
      retryDelay: { min: 1, max: 2, resetAfter: 60_000 },
    });
    try {
      connection.start();
      // No keep-alives: each link goes silent and the watchdog gives it up.
      await within(
        context.server.waitForLogin(device.deviceId, 3),
        "three logins",
      );
    } finally {
      connection.stop();
    }
    assert.deepEqual(sockets.ended.slice(0, 2), ["terminate", "terminate"]);
    assert.equal(sockets.ended.at(-1), "close 1000");
  },
);
