// The fake's accounts, devices and message queues: the service's state and
// the rules that change it, with no HTTP or WebSocket in sight.

import { encryptField } from "./encrypt.ts";
import * as ids from "./ids.ts";

/** An account the fake knows; `store.accounts` lists them. */
export interface Account {
  /** The login e-mail. */
  email: string;
  /** The login password. */
  password: string;
  /** The 2FA code the account expects; none means no 2FA. */
  twofa?: string;
  /** The user key, 30 characters, as senders address the account. */
  userKey: string;
  /** The one secret of "older semantics" (see `secretPerLogin`). */
  fixedSecret: string;
  /** What downloads report as `user.quiet_hours`; set it to test quiet hours. */
  quietHours: boolean;
  /** What downloads report as `user.is_desktop_licensed`. */
  desktopLicensed: boolean;
}

/** A registered device. */
export interface DeviceRecord {
  /** The device id the client stores, 40 characters. */
  id: string;
  /** The name it was registered under. */
  name: string;
  /** Whose device it is. */
  account: Account;
  /** The messages waiting for it, oldest first. */
  queue: StoredMessage[];
  /** The id its next message gets. */
  nextId: bigint;
  /** Disabled on the dashboard: REST answers 403, socket logins `E`. */
  disabled: boolean;
}

/** A queued message, with exact 64-bit ids. */
export interface StoredMessage {
  /** Its id on this device. */
  id: bigint;
  /** The message's id across devices. */
  umid: bigint;
  /** The sending application's id. */
  aid: bigint;
  /** The sending application's name. */
  app: string;
  /** The icon's name (see `/icons/{icon}.png`). */
  icon: string;
  /** The body. */
  message: string;
  /** The sender's time, Unix seconds. */
  date: number;
  /** When it was queued, Unix seconds; tests move it to make backlog. */
  queuedDate: number;
  /** Milliseconds since the epoch, sub-millisecond: for latency benchmarks. */
  queuedAt: number;
  /** −2 to 2. */
  priority: number;
  /** The title, when the sender gave one. */
  title?: string;
  /** The sound's name, when the sender chose one. */
  sound?: string;
  /** A supplementary URL. */
  url?: string;
  /** The URL's title. */
  urlTitle?: string;
  /** The body is HTML. */
  html?: boolean;
  /** The body is to be shown in a monospace font. */
  monospace?: boolean;
  /** Shared by every device's copy: acknowledging one acks them all. */
  emergency?: { receipt: string; acked: boolean };
  /** Sent encrypted end to end: its fields hold the encrypted text. */
  encrypted?: boolean;
}

/** What a sender can set: the fields of Pushover's sending API. */
export interface OutgoingMessage {
  /** The body. */
  message: string;
  /** A title; none by default (clients then show `app`). */
  title?: string;
  /** The sending application's name; default "Fake Monitor". */
  app?: string;
  /** The icon's name; default the application's own. */
  icon?: string;
  /** −2 to 2; default 0. 2 is an emergency with a receipt to acknowledge. */
  priority?: number;
  /** A sound's name. */
  sound?: string;
  /** A supplementary URL. */
  url?: string;
  /** The URL's title. */
  url_title?: string;
  /** The body is HTML. */
  html?: boolean;
  /** The body is monospace. */
  monospace?: boolean;
  /**
   * Encrypt `message`, `title`, `url` and `url_title` end to end with this
   * key (64 hexadecimal characters), as an encrypting sender does.
   */
  encryptWith?: string;
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  /** Only this device (by name) gets it; default every device of the user. */
  device?: string;
  /** The account (user key or e-mail); default the only/first account. */
  user?: string;
}

/** What `send` did. */
export interface Sent {
  /** The message's id across devices. */
  umid: string;
  /** The receipt to acknowledge, for an emergency (priority 2). */
  receipt?: string;
  /** Device id → the message's id on that device. */
  ids: Record<string, string>;
}

/**
 * Everything a store holds, as JSON can carry it (64-bit ids as strings,
 * accounts by index): what `deno task fake-server --state FILE` keeps
 * across restarts.
 */
export interface StoreSnapshot {
  /** The accounts, in order: the other fields refer to them by index. */
  accounts: Account[];
  /** Secret → index in `accounts`. */
  secrets: Record<string, number>;
  /** Application name → its id (`aid`), as a decimal string. */
  appIds: Record<string, string>;
  /** Receipt → its account's index and whether it was acknowledged. */
  receipts: Record<string, { account: number; acked: boolean }>;
  /** The devices with their queues; ids as decimal strings. */
  devices: {
    id: string;
    name: string;
    account: number;
    nextId: string;
    disabled: boolean;
    queue: (Omit<StoredMessage, "id" | "umid" | "aid" | "emergency"> & {
      id: string;
      umid: string;
      aid: string;
      receipt?: string;
    })[];
  }[];
  /** The `umid` the next message gets, as a decimal string. */
  nextUmid: string;
}

/** Conventions for the store (the unknowns it decides; testing/README.md). */
export interface StoreOptions {
  /** New secret at each login (newer docs) or one per account (older). */
  secretPerLogin: boolean;
  /** First message id a new device gets (the welcome message's). */
  firstMessageId: bigint;
  /** Unix-seconds clock. */
  now: () => number;
}

const PUSHOVER_AID = 1n;
// Above 2^53 on purpose: a client that parses ids as doubles rounds these.
const FIRST_UMID = 502550228871720147n;
const FIRST_AID = 435443636951759403n;

/**
 * The fake's state and its rules: accounts, devices, queues and receipts.
 * Tests read it to check what a client did, and change it to set a scene.
 *
 * @example Check what a client left on the server
 * ```ts
 * import { startFakeServer } from "@openpush/pushover-open-client/testing";
 * import assert from "node:assert/strict";
 *
 * const server = await startFakeServer({ listen: false });
 * const account = server.addAccount({ email: "a@b.c", password: "pw" });
 * assert.equal(server.store.accounts[0], account);
 * assert.equal(server.store.devices.size, 0);
 * await server.close();
 * ```
 */
export class Store {
  /** Every account, in the order they were added. */
  readonly accounts: Account[] = [];
  /** Every device, by id (read it; change devices through the methods). */
  readonly devices: Map<string, DeviceRecord> = new Map();
  /**
   * Each account's devices, in the order registered: a message is queued
   * without a look at every other account's devices (a load test's
   * thousands of them cost 60 µs a message).
   */
  readonly #devicesOf = new Map<Account, Set<DeviceRecord>>();
  /** The device registered last: whose account a send without a user is for. */
  #newest: DeviceRecord | undefined;
  readonly #secrets = new Map<string, Account>();
  readonly #appIds = new Map<string, bigint>();
  readonly #receipts = new Map<
    string,
    { account: Account; emergency: { receipt: string; acked: boolean } }
  >();
  readonly #options: StoreOptions;
  #nextUmid = FIRST_UMID;

  /** Makes an empty store following `options`; startFakeServer() makes one. */
  constructor(options: StoreOptions) {
    this.#options = options;
  }

  /** Adds an account; the key and secret are generated. */
  addAccount(
    account: { email: string; password: string; twofa?: string },
  ): Account {
    const created: Account = {
      ...account,
      userKey: ids.userKey(),
      fixedSecret: ids.secret(),
      quietHours: false,
      desktopLicensed: true,
    };
    this.accounts.push(created);
    this.#secrets.set(created.fixedSecret, created);
    return created;
  }

  /** A secret for a login that passed every check. */
  issueSecret(account: Account): string {
    if (!this.#options.secretPerLogin) return account.fixedSecret;
    const secret = ids.secret();
    this.#secrets.set(secret, account);
    return secret;
  }

  /** Makes a secret unknown to the server (a revoked session). */
  revokeSecret(secret: string): void {
    this.#secrets.delete(secret);
  }

  /** The account a secret belongs to, if the secret is valid. */
  accountOfSecret(secret: string | undefined): Account | undefined {
    return secret === undefined ? undefined : this.#secrets.get(secret);
  }

  /** The device, if it exists and belongs to the secret's account. */
  deviceFor(
    secret: string | undefined,
    deviceId: string | undefined,
  ): DeviceRecord | undefined {
    const account = this.accountOfSecret(secret);
    const device = deviceId === undefined
      ? undefined
      : this.devices.get(deviceId);
    return account && device?.account === account ? device : undefined;
  }

  /** Registers a device and queues the welcome message (testing/README.md). */
  addDevice(account: Account, name: string): DeviceRecord {
    const device: DeviceRecord = {
      id: ids.deviceId(),
      name,
      account,
      queue: [],
      nextId: this.#options.firstMessageId,
      disabled: false,
    };
    this.#keep(device);
    this.#enqueue(device, {
      umid: this.#nextUmid++,
      aid: PUSHOVER_AID,
      app: "Pushover",
      icon: "pushover",
      title: "Welcome to Pushover!",
      message:
        `Your device ${name} can now receive notifications. Your 30-day trial of Pushover for Desktop has begun.`,
      date: this.#options.now(),
      priority: 0,
    });
    return device;
  }

  /** Everything this store holds, for {@linkcode Store.restore}. */
  snapshot(): StoreSnapshot {
    const index = (account: Account) => this.accounts.indexOf(account);
    return {
      accounts: this.accounts.map((a) => ({ ...a })),
      secrets: Object.fromEntries(
        [...this.#secrets].map(([secret, a]) => [secret, index(a)]),
      ),
      appIds: Object.fromEntries(
        [...this.#appIds].map(([app, id]) => [app, String(id)]),
      ),
      receipts: Object.fromEntries(
        [...this.#receipts].map(([receipt, r]) => [
          receipt,
          { account: index(r.account), acked: r.emergency.acked },
        ]),
      ),
      devices: [...this.devices.values()].map((d) => ({
        id: d.id,
        name: d.name,
        account: index(d.account),
        nextId: String(d.nextId),
        disabled: d.disabled,
        queue: d.queue.map(({ emergency, ...m }) => ({
          ...m,
          id: String(m.id),
          umid: String(m.umid),
          aid: String(m.aid),
          ...(emergency ? { receipt: emergency.receipt } : {}),
        })),
      })),
      nextUmid: String(this.#nextUmid),
    };
  }

  /**
   * Replaces everything with a {@linkcode Store.snapshot}: the copies of an
   * emergency share their receipt's state again, as when they were sent.
   */
  restore(snapshot: StoreSnapshot): void {
    this.accounts.splice(0, this.accounts.length, ...snapshot.accounts);
    const account = (i: number) => this.accounts[i];
    this.#secrets.clear();
    for (const [secret, i] of Object.entries(snapshot.secrets)) {
      this.#secrets.set(secret, account(i));
    }
    this.#appIds.clear();
    for (const [app, id] of Object.entries(snapshot.appIds)) {
      this.#appIds.set(app, BigInt(id));
    }
    this.#receipts.clear();
    for (const [receipt, r] of Object.entries(snapshot.receipts)) {
      this.#receipts.set(receipt, {
        account: account(r.account),
        emergency: { receipt, acked: r.acked },
      });
    }
    this.devices.clear();
    this.#devicesOf.clear();
    this.#newest = undefined;
    for (const d of snapshot.devices) {
      this.#keep({
        id: d.id,
        name: d.name,
        account: account(d.account),
        nextId: BigInt(d.nextId),
        disabled: d.disabled,
        queue: d.queue.map(({ receipt, ...m }) => ({
          ...m,
          id: BigInt(m.id),
          umid: BigInt(m.umid),
          aid: BigInt(m.aid),
          ...(receipt === undefined
            ? {}
            : { emergency: this.#receipts.get(receipt)!.emergency }),
        })),
      });
    }
    this.#nextUmid = BigInt(snapshot.nextUmid);
  }

  /** Forgets a device: its id is unknown from now on. */
  removeDevice(device: DeviceRecord): void {
    this.devices.delete(device.id);
    this.#devicesOf.get(device.account)?.delete(device);
    if (this.#newest === device) {
      this.#newest = [...this.devices.values()].at(-1);
    }
  }

  /** The account's devices, in the order they were registered. */
  devicesOf(account: Account): DeviceRecord[] {
    return [...this.#devicesOf.get(account) ?? []];
  }

  /** Keeps a device, by id and under its account. */
  #keep(device: DeviceRecord): void {
    this.devices.set(device.id, device);
    let devices = this.#devicesOf.get(device.account);
    if (!devices) this.#devicesOf.set(device.account, devices = new Set());
    devices.add(device);
    this.#newest = device;
  }

  /** Queues a message for the user's devices; returns what was queued where. */
  send(outgoing: OutgoingMessage): { sent: Sent; devices: DeviceRecord[] } {
    const account = this.#findAccount(outgoing.user);
    const devices = this.devicesOf(account).filter((d) =>
      outgoing.device === undefined || d.name === outgoing.device
    );
    if (devices.length === 0) {
      throw new Error(
        `no device to send to (device ${outgoing.device ?? "any"})`,
      );
    }
    const app = outgoing.app ?? "Fake Monitor";
    const key = outgoing.encryptWith;
    const seal = (text: string | undefined) =>
      key === undefined || text === undefined ? text : encryptField(text, key);
    const priority = outgoing.priority ?? 0;
    // As the real API: 400 "priority is invalid" for anything else.
    if (!Number.isInteger(priority) || priority < -2 || priority > 2) {
      throw new Error(
        `priority is invalid: ${priority}; use -2, -1, 0, 1 or 2`,
      );
    }
    const base: Omit<StoredMessage, "id" | "queuedDate" | "queuedAt"> = {
      umid: this.#nextUmid++,
      aid: this.#appId(app),
      app,
      icon: outgoing.icon ?? "mnsw2ykc6qa5sbn",
      message: seal(outgoing.message)!,
      date: outgoing.timestamp ?? this.#options.now(),
      priority,
      title: seal(outgoing.title),
      sound: outgoing.sound,
      url: seal(outgoing.url),
      urlTitle: seal(outgoing.url_title),
      encrypted: key !== undefined,
      html: outgoing.html,
      monospace: outgoing.monospace,
      emergency: priority === 2
        ? { receipt: ids.receipt(), acked: false }
        : undefined,
    };
    if (base.emergency) {
      this.#receipts.set(base.emergency.receipt, {
        account,
        emergency: base.emergency,
      });
    }
    const sent: Sent = {
      umid: String(base.umid),
      receipt: base.emergency?.receipt,
      ids: {},
    };
    for (const device of devices) {
      sent.ids[device.id] = String(this.#enqueue(device, base).id);
    }
    return { sent, devices };
  }

  /** Deletes every message with `id <= through`; lower values are no-ops. */
  deleteThrough(device: DeviceRecord, through: bigint): void {
    device.queue = device.queue.filter((m) => m.id > through);
  }

  /**
   * Marks the message acknowledged on every device. Receipts outlive the
   * queue: a client may delete a message and acknowledge it later.
   */
  acknowledge(
    account: Account,
    receipt: string,
  ): "acked" | "again" | "unknown" {
    const known = this.#receipts.get(receipt);
    if (!known || known.account !== account) return "unknown";
    if (known.emergency.acked) return "again";
    known.emergency.acked = true;
    return "acked";
  }

  /** Whether an emergency message with this receipt is still unacknowledged. */
  isPending(receipt: string): boolean {
    return this.#receipts.get(receipt)?.emergency.acked === false;
  }

  #enqueue(
    device: DeviceRecord,
    message: Omit<StoredMessage, "id" | "queuedDate" | "queuedAt">,
  ): StoredMessage {
    const stored = {
      ...message,
      id: device.nextId,
      queuedDate: this.#options.now(),
      queuedAt: performance.timeOrigin + performance.now(),
    };
    // Ids increase with gaps, as real ones do (a capture had 3, 4, 6).
    device.nextId += device.nextId % 3n === 0n ? 2n : 1n;
    device.queue.push(stored);
    return stored;
  }

  #appId(app: string): bigint {
    let aid = this.#appIds.get(app);
    if (aid === undefined) {
      aid = FIRST_AID + BigInt(this.#appIds.size) * 7919n;
      this.#appIds.set(app, aid);
    }
    return aid;
  }

  #findAccount(user: string | undefined): Account {
    // Without a user: the account whose device was registered last — the
    // one a person trying the fake just logged in with.
    const account = user === undefined
      ? this.#newest?.account ?? this.accounts[0]
      : this.accounts.find((a) => a.userKey === user || a.email === user);
    if (!account) throw new Error(`no account ${user ?? "at all"}`);
    return account;
  }
}
