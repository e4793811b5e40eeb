import assert from "node:assert/strict";
import { test } from "node:test";
import { isQuiet, isSilent, needsAcknowledgement } from "../mod.ts";
import type { Message, UserInfo } from "../mod.ts";

const RECEIPT = "r8a4c2b1d9e7f3a6b5c4d2e1f0a9b8";

test("needsAcknowledgement() is true for an unacknowledged emergency with a receipt", () => {
  assert.equal(
    needsAcknowledgement({ priority: 2, acked: 0, receipt: RECEIPT }),
    true,
  );
});

test("needsAcknowledgement() is false once acked is 1", () => {
  assert.equal(
    needsAcknowledgement({ priority: 2, acked: 1, receipt: RECEIPT }),
    false,
  );
});

test("needsAcknowledgement() is false without a receipt", () => {
  assert.equal(needsAcknowledgement({ priority: 2, acked: 0 }), false);
  assert.equal(
    needsAcknowledgement({ priority: 2, acked: 0, receipt: "" }),
    false,
  );
  assert.equal(
    needsAcknowledgement({
      priority: 2,
      acked: 0,
      receipt: null as unknown as string,
    }),
    false,
  );
});

test("needsAcknowledgement() is false below priority 2, receipt or not", () => {
  for (const priority of [-2, -1, 0, 1]) {
    assert.equal(
      needsAcknowledgement({ priority, acked: 0, receipt: RECEIPT }),
      false,
    );
  }
});

test("needsAcknowledgement() treats a missing acked as not acknowledged", () => {
  const message = { priority: 2, receipt: RECEIPT } as Pick<
    Message,
    "priority" | "acked" | "receipt"
  >;
  assert.equal(needsAcknowledgement(message), true);
});

test("isSilent() is true for priority -2 only", () => {
  assert.equal(isSilent({ priority: -2 }), true);
  for (const priority of [-1, 0, 1, 2]) {
    assert.equal(isSilent({ priority }), false);
  }
});

test("isQuiet() is true for priority -1, with or without quiet hours", () => {
  assert.equal(isQuiet({ priority: -1 }), true);
  assert.equal(isQuiet({ priority: -1 }, { quiet_hours: false }), true);
  assert.equal(isQuiet({ priority: -1 }, { quiet_hours: true }), true);
});

test("isQuiet() is true for priority 0 only during quiet hours", () => {
  assert.equal(isQuiet({ priority: 0 }), false);
  assert.equal(isQuiet({ priority: 0 }, {}), false);
  assert.equal(isQuiet({ priority: 0 }, { quiet_hours: false }), false);
  assert.equal(isQuiet({ priority: 0 }, { quiet_hours: true }), true);
});

test("isQuiet() is never true for priority 1 and 2", () => {
  for (const priority of [1, 2]) {
    assert.equal(isQuiet({ priority }), false);
    assert.equal(isQuiet({ priority }, { quiet_hours: true }), false);
  }
});

test("isQuiet() is false for silent messages, which do not notify at all", () => {
  assert.equal(isQuiet({ priority: -2 }, { quiet_hours: true }), false);
});

test("isQuiet() accepts the user facts of a download as they come", () => {
  const user: UserInfo = {
    quiet_hours: true,
    is_desktop_licensed: true,
    email: "tester@example.com",
  };
  assert.equal(isQuiet({ priority: 0 }, user), true);
  const truthy = { quiet_hours: "yes" } as unknown as UserInfo;
  assert.equal(isQuiet({ priority: 0 }, truthy), false);
});
