// The fake's accounts, devices and message queues: the service's state and
// the rules that change it, with no HTTP or WebSocket in sight.

import * as ids from "./ids.ts";

/** An account the fake knows. */
export interface Account {
  email: string;
  password: string;
  /** The 2FA code the account expects; none means no 2FA. */
  twofa?: string;
  userKey: string;
  /** The one secret of "older semantics" (see `secretPerLogin`). */
  fixedSecret: string;
  quietHours: boolean;
  desktopLicensed: boolean;
}

/** A registered device. */
export interface DeviceRecord {
  id: string;
  name: string;
  account: Account;
  queue: StoredMessage[];
  nextId: bigint;
  disabled: boolean;
}

/** A queued message, with exact 64-bit ids. */
export interface StoredMessage {
  id: bigint;
  umid: bigint;
  aid: bigint;
  app: string;
  icon: string;
  message: string;
  date: number;
  queuedDate: number;
  /** Milliseconds since the epoch, sub-millisecond: for latency benchmarks. */
  queuedAt: number;
  priority: number;
  title?: string;
  sound?: string;
  url?: string;
  urlTitle?: string;
  html?: boolean;
  monospace?: boolean;
  /** Shared by every device's copy: acknowledging one acks them all. */
  emergency?: { receipt: string; acked: boolean };
}

/** What a sender can set; the fields of the sending API (PROTOCOL.md §3). */
export interface OutgoingMessage {
  message: string;
  title?: string;
  app?: string;
  icon?: string;
  priority?: number;
  sound?: string;
  url?: string;
  url_title?: string;
  html?: boolean;
  monospace?: boolean;
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  /** Only this device (by name) gets it; default every device of the user. */
  device?: string;
  /** The account (user key or e-mail); default the only/first account. */
  user?: string;
}

/** What `send` did. */
export interface Sent {
  umid: string;
  receipt?: string;
  /** Device id → the message's id on that device. */
  ids: Record<string, string>;
}

/** Conventions for the store (the [UNKNOWN]s it decides). */
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

/** The fake's state and its rules. */
export class Store {
  readonly accounts: Account[] = [];
  readonly devices = new Map<string, DeviceRecord>();
  readonly #secrets = new Map<string, Account>();
  readonly #appIds = new Map<string, bigint>();
  readonly #receipts = new Map<
    string,
    { account: Account; emergency: { receipt: string; acked: boolean } }
  >();
  readonly #options: StoreOptions;
  #nextUmid = FIRST_UMID;

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

  /** Registers a device and queues the welcome message (PROTOCOL.md §2.2). */
  addDevice(account: Account, name: string): DeviceRecord {
    const device: DeviceRecord = {
      id: ids.deviceId(),
      name,
      account,
      queue: [],
      nextId: this.#options.firstMessageId,
      disabled: false,
    };
    this.devices.set(device.id, device);
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

  /** Forgets a device: its id is unknown from now on. */
  removeDevice(device: DeviceRecord): void {
    this.devices.delete(device.id);
  }

  /** Queues a message for the user's devices; returns what was queued where. */
  send(outgoing: OutgoingMessage): { sent: Sent; devices: DeviceRecord[] } {
    const account = this.#findAccount(outgoing.user);
    const devices = [...this.devices.values()].filter((d) =>
      d.account === account &&
      (outgoing.device === undefined || d.name === outgoing.device)
    );
    if (devices.length === 0) {
      throw new Error(
        `no device to send to (device ${outgoing.device ?? "any"})`,
      );
    }
    const app = outgoing.app ?? "Fake Monitor";
    const priority = outgoing.priority ?? 0;
    const base: Omit<StoredMessage, "id" | "queuedDate" | "queuedAt"> = {
      umid: this.#nextUmid++,
      aid: this.#appId(app),
      app,
      icon: outgoing.icon ?? "mnsw2ykc6qa5sbn",
      message: outgoing.message,
      date: outgoing.timestamp ?? this.#options.now(),
      priority,
      title: outgoing.title,
      sound: outgoing.sound,
      url: outgoing.url,
      urlTitle: outgoing.url_title,
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
    const account = user === undefined
      ? this.accounts[0]
      : this.accounts.find((a) => a.userKey === user || a.email === user);
    if (!account) throw new Error(`no account ${user ?? "at all"}`);
    return account;
  }
}
