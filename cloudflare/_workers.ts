// The few Workers runtime types this folder uses, written out: the package
// takes no dependency (not even on @cloudflare/workers-types), and these are
// all the shapes it relies on.

import type { DurableObjectSqlStorage } from "./sql_driver.ts";

/** A Durable Object's storage: its SQL, its key-value pairs, its alarm. */
export interface DurableObjectStorage extends DurableObjectSqlStorage {
  /** The value kept under `key`, if any. */
  get<T>(key: string): Promise<T | undefined>;
  /** Keeps `value` under `key`. */
  put(key: string, value: unknown): Promise<void>;
  /** Forgets `key`; whether it was there. */
  delete(key: string): Promise<boolean>;
  /** Forgets everything: keys and SQL tables. */
  deleteAll(): Promise<void>;
  /** When the alarm is set for (ms since the epoch), or null. */
  getAlarm(): Promise<number | null>;
  /** Sets the one alarm for `time` (ms since the epoch). */
  setAlarm(time: number): Promise<void>;
  /** Clears the alarm. */
  deleteAlarm(): Promise<void>;
}

/** What a Durable Object is constructed with. */
export interface DurableObjectState {
  /** The object's id. */
  readonly id: { toString(): string; readonly name?: string };
  /** Its own storage. */
  readonly storage: DurableObjectStorage;
  /** Runs `body` before any event reaches the object. */
  blockConcurrencyWhile<T>(body: () => Promise<T>): Promise<T>;
  /** Keeps the object alive until `promise` settles. */
  waitUntil(promise: Promise<unknown>): void;
  /** Resets the object: the next request makes a new instance. */
  abort(reason?: string): void;
}

/** A binding to a Durable Object class. */
export interface DurableObjectNamespace {
  /** The id of the one object named `name`. */
  idFromName(name: string): unknown;
  /** A stub that sends requests to the object `id`. */
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/** A Cloudflare Queue's producer binding. */
export interface QueueProducer {
  /** Sends one message to the Queue. */
  send(body: unknown, options?: { contentType?: "json" }): Promise<void>;
}
