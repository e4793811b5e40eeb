/**
 * The data the Open Client API sends and the values users keep between runs.
 *
 * @module
 */

/** Options every REST primitive takes. */
export interface RequestOptions {
  /**
   * Base URL of the REST API, without a trailing slash. Plain `http:` is
   * refused unless the host is loopback, because every call carries a secret.
   *
   * @default {"https://api.pushover.net/1"}
   */
  apiUrl?: string;
  /**
   * The `fetch` to use, for instrumentation or tests.
   *
   * @default {globalThis.fetch}
   */
  fetch?: typeof fetch;
  /** Aborts the request; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Milliseconds the whole request (connect, answer and body) may take before
   * it fails with a {@linkcode PushoverError} whose `cause` is a `TimeoutError`.
   *
   * @default {30000}
   */
  timeout?: number;
}

/** What {@linkcode login} returns: keep `secret` safe and forget the password. */
export interface Session {
  /** The account's 30-character user key. */
  userKey: string;
  /** The session secret every other call needs. */
  secret: string;
}

/**
 * A registered Open Client device: plain JSON, so it can be stored and reused
 * on the next start without logging in again.
 */
export interface Device {
  /** The session secret the device was registered with. */
  secret: string;
  /** The 40-character id the server gave the device. */
  deviceId: string;
}

/**
 * One message as the API sends it, snake_case. Conditional fields are absent,
 * never `null`, and unknown fields the server adds are kept.
 *
 * The 64-bit integers (`id`, `umid`, `aid`) can exceed `2^53`, so their number
 * form may be rounded: use the exact `*_str` twins to compare or send them.
 */
export interface Message {
  /** Id relative to this device; increasing, not contiguous. Use `id_str`. */
  id: number;
  /** Exact decimal form of `id`. */
  id_str: string;
  /** Id of the message across all the user's devices. Use `umid_str`. */
  umid: number;
  /** Exact decimal form of `umid`: a good key to de-duplicate on. */
  umid_str: string;
  /** The body, up to 1024 characters; HTML subset when `html` is 1. */
  message: string;
  /** Name of the sending application ("Pushover" for system messages). */
  app: string;
  /** Application id; 1 is Pushover itself. Use `aid_str`. */
  aid: number;
  /** Exact decimal form of `aid`. */
  aid_str: string;
  /** Icon name for `https://api.pushover.net/icons/{icon}.png`. */
  icon: string;
  /** Unix seconds: the message's timestamp. */
  date: number;
  /** −2 (no notification) … 2 (emergency, needs acknowledgement). */
  priority: number;
  /** 1 once an emergency message has been acknowledged. */
  acked: number;
  /** Title set by the sender; absent when none was given (show `app`). */
  title?: string;
  /** Two-letter sound code; absent means the device's default sound. */
  sound?: string;
  /** Supplementary URL. */
  url?: string;
  /** Label for `url`; absent means show the URL itself. */
  url_title?: string;
  /** Receipt to acknowledge; priority 2 only. */
  receipt?: string;
  /** 1 when `message` uses the HTML subset (b, i, u, font, a). */
  html?: number;
  /** 1 when the body should be shown in a fixed-width font. */
  monospace?: number;
  /** Unix seconds when queued for this device. */
  queued_date?: number;
  /** Unix seconds when dispatched to this device. */
  dispatched_date?: number;
  /** Unix seconds after which the message should be removed locally. */
  expiration_date?: number;
  /** Present when the message came through a subscription. */
  subscription?: number;
  /** String twin of `subscription`. */
  subscription_str?: string;
  /** Fields this library does not know yet. */
  [field: string]: unknown;
}

/** The account facts sent with every download (fields may be missing). */
export interface UserInfo {
  /** The user is inside quiet hours now: treat priority 0 as quiet. */
  quiet_hours?: boolean;
  /** The account holds an Android licence. */
  is_android_licensed?: boolean;
  /** The account holds an iOS licence. */
  is_ios_licensed?: boolean;
  /** The account holds a Desktop licence, which Open Clients need. */
  is_desktop_licensed?: boolean;
  /** The account's e-mail address. */
  email?: string;
  /** Unix seconds when the account was created. */
  created_at?: number;
  /** The account's first e-mail alias. */
  first_email_alias?: string;
  /** Unix seconds until which quick quiet is on, or null. */
  quick_quiet_until?: number | null;
  /** UI hint, "0" or "1". */
  show_team_ad?: string;
  /** UI hint, "0" or "1". */
  show_tipjar?: string;
  /** Fields this library does not know yet. */
  [field: string]: unknown;
}

/** The device's settings sent with every download (fields may be missing). */
export interface DeviceInfo {
  /** The device's name. */
  name?: string;
  /** Always false for Open Clients. */
  encryption_enabled?: boolean;
  /** Two-letter code of the sound for normal messages. */
  default_sound?: string;
  /** Play `default_sound` whatever the message asks for. */
  always_use_default_sound?: boolean;
  /** Two-letter code of the sound for high-priority messages. */
  default_high_priority_sound?: string;
  /** Play `default_high_priority_sound` whatever the message asks for. */
  always_use_default_high_priority_sound?: boolean;
  /** Dismissals are synchronised across devices. */
  dismissal_sync_enabled?: boolean;
  /** Fields this library does not know yet. */
  [field: string]: unknown;
}

/** What {@linkcode downloadMessages} returns. */
export interface MessageBatch {
  /** Every queued message, in ascending id order. */
  messages: Message[];
  /** Account facts, when the server sent them. */
  user?: UserInfo;
  /** Device settings, when the server sent them. */
  device?: DeviceInfo;
}
