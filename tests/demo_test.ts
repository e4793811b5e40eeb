import assert from "node:assert/strict";
import { test } from "node:test";
import { runScript } from "./_spawn.ts";

test("the demo runs the whole flow against the fake server and exits 0", async () => {
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
    ]
  ) {
    assert.ok(
      stdout.includes(expected),
      `missing "${expected}" in:\n${stdout}`,
    );
  }
  assert.equal(stderr.replace(/Deno\.serve: request\.signal[^\n]*\n?/, ""), "");
});
