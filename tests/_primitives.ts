// The five REST primitives as one table, for the suites that run the same
// check against each of them (hostile answers, secret hygiene).

import {
  acknowledge,
  deleteThrough,
  downloadMessages,
  login,
  registerDevice,
} from "../mod.ts";
import type { Device, RequestOptions, Session } from "../mod.ts";
import type { Endpoint } from "../testing/mod.ts";
import type { Context } from "./_setup.ts";

/** Made-up credentials for calls that never reach a server. */
export const OFFLINE_SECRET =
  "x9q2vzk7mfj4hw8trb3ncy6pd1sgl5aeuo0iqjw4nbz8ty3kv7rx2lm6dh5c";
/** A made-up device with the offline secret. */
export const OFFLINE_DEVICE: Device = {
  secret: OFFLINE_SECRET,
  deviceId: "k8vz2mq7tw4nb9xr3hc6pd1fgl5ysj0aeu4iqo2w",
};
/** A receipt no server knows. */
export const RECEIPT = "u7dVQ3mYHh1Qm7sKqk9Wb2fYp8bQ2e";

/** One primitive, named as its errors name it. */
export interface Primitive {
  name: string;
  endpoint: Endpoint;
  /** Finishes "Cannot …" in its error messages. */
  action: string;
  /**
   * Sets up on the fake what the call needs (a session, a device) and
   * returns the call itself and the secrets it sends.
   */
  prepare(context: Context): Promise<{
    run(options?: RequestOptions): Promise<unknown>;
    sends: string[];
  }>;
  /** The same call with made-up credentials, for fetch doubles. */
  offline(options: RequestOptions): Promise<unknown>;
}

/** How a suite logs in on its fake: its own account, 2FA or not. */
export interface Setup {
  credentials: { email: string; password: string; twofa?: string };
  signIn(context: Context): Promise<Session>;
  newDevice(context: Context): Promise<Device>;
}

/** The table, for a suite's account. */
export function primitives(setup: Setup): Primitive[] {
  const withApi = (context: Context, options?: RequestOptions) => ({
    ...context.api,
    ...options,
  });
  const onDevice = (
    call: (device: Device, options: RequestOptions) => Promise<unknown>,
  ) =>
  async (context: Context) => {
    const device = await setup.newDevice(context);
    return {
      run: (options?: RequestOptions) =>
        call(device, withApi(context, options)),
      sends: [device.secret],
    };
  };
  return [
    {
      name: "login()",
      endpoint: "login",
      action: "log in",
      prepare: (context) =>
        Promise.resolve({
          run: (options) => login(setup.credentials, withApi(context, options)),
          sends: [setup.credentials.password, setup.credentials.twofa ?? ""]
            .filter(Boolean),
        }),
      offline: (options) => login(setup.credentials, options),
    },
    {
      name: "registerDevice()",
      endpoint: "register",
      action: "register the device",
      prepare: async (context) => {
        const session = await setup.signIn(context);
        return {
          run: (options) =>
            registerDevice(session, "second", withApi(context, options)),
          sends: [session.secret],
        };
      },
      offline: (options) =>
        registerDevice({ secret: OFFLINE_SECRET }, "name", options),
    },
    {
      name: "downloadMessages()",
      endpoint: "download",
      action: "download messages",
      prepare: onDevice((device, options) => downloadMessages(device, options)),
      offline: (options) => downloadMessages(OFFLINE_DEVICE, options),
    },
    {
      name: "deleteThrough()",
      endpoint: "delete",
      action: "delete messages",
      prepare: onDevice((device, options) =>
        deleteThrough(device, "1", options)
      ),
      offline: (options) => deleteThrough(OFFLINE_DEVICE, "1", options),
    },
    {
      name: "acknowledge()",
      endpoint: "acknowledge",
      action: "acknowledge the message",
      prepare: onDevice((device, options) =>
        acknowledge(device, RECEIPT, options)
      ),
      offline: (options) => acknowledge(OFFLINE_DEVICE, RECEIPT, options),
    },
  ];
}
