import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./_spawn.ts";

test("the demo runs the whole flow, REST and live stream, against the fake server and exits 0", async () => {
  const { code, stdout, stderr } = await runScript("examples/demo.ts");
  assert.equal(code, 0, stderr);
  for (
    const expected of [
      "412 Precondition Failed",
      "device id ",
      "[Pushover] Welcome to Pushover!",
      "[Alarm] Smoke detected: Kitchen sensor  (emergency, acked=0)",
      "0 messages left on the server",
      "acknowledged; server says pending: false",
      "/acknowledge.json → 200",
      '"reason":"the server asked to reconnect (R)"',
      "[Doorbell] (no title): Someone is at the door",
      "[Alarm] (no title): Water leak  (emergency, acked=0)",
      "[Backups] (no title): Weekly backup finished",
      '{"state":"stopped","reason":"ended"}',
      "stream stopped; 0 messages left on the server",
    ]
  ) {
    assert.ok(
      stdout.includes(expected),
      `missing "${expected}" in:\n${stdout}`,
    );
  }
  assert.equal(stderr.replace(/Deno\.serve: request\.signal[^\n]*\n?/, ""), "");
});
