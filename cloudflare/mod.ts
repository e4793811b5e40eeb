/**
 * Pushover devices on Cloudflare Durable Objects: one object per device
 * (`idFromName(deviceId)`) runs `streamMessages` over an outbound
 * WebSocket, keeps each message in an inbox on the object's own SQLite
 * storage before the server's delete, and hands it on to a webhook and a
 * Cloudflare Queue; an alarm is its watchdog. The Worker in front is a small
 * admin API behind a bearer token. A Worker of your own is two lines; see
 * `cloudflare/wrangler.jsonc` and the README's "On Cloudflare".
 *
 * @example Your Worker's entry (wrangler.jsonc's "main")
 * ```ts ignore
 * export { default, PushoverDevice } from "@openpush/pushover-open-client/cloudflare";
 * ```
 *
 * @example The inbox on a Durable Object's storage, in a class of your own
 * ```ts ignore
 * import { Inbox } from "@openpush/pushover-open-client/inbox";
 * import { durableObjectDriver } from "@openpush/pushover-open-client/cloudflare";
 *
 * export class MyObject {
 *   inbox: Inbox;
 *   constructor(ctx: { storage: Parameters<typeof durableObjectDriver>[0] }) {
 *     this.inbox = new Inbox(durableObjectDriver(ctx.storage));
 *   }
 * }
 * ```
 *
 * @module
 */

export { default } from "./worker.ts";
export type { WorkerEnv, WorkerHandler } from "./worker.ts";
export { PushoverDevice } from "./device_object.ts";
export type {
  DeviceEnv,
  DeviceSettings,
  DeviceStatus,
} from "./device_object.ts";
export { durableObjectDriver } from "./sql_driver.ts";
export type { DurableObjectSqlStorage } from "./sql_driver.ts";
export type { Delivery } from "./_sinks.ts";
export type { Device, Message } from "../mod.ts";
export type {
  InboxStats,
  SinkState,
  SqlDriver,
  SqlValue,
} from "../inbox/mod.ts";
export type {
  DurableObjectNamespace,
  DurableObjectState,
  DurableObjectStorage,
  QueueProducer,
} from "./_workers.ts";
