// cloudflare/worker.ts with device objects that keep time by a clock the
// tests move, for what takes hours or days (retention): `POST
// /clock/:deviceId?ms=N` puts that device's clock N ms on. Everything else
// goes to the Worker as deployed.

import worker from "../../cloudflare/worker.ts";
import type { WorkerEnv } from "../../cloudflare/worker.ts";
import { PushoverDevice } from "../../cloudflare/device_object.ts";
import type { DeviceEnv } from "../../cloudflare/device_object.ts";
import type { DurableObjectState } from "../../cloudflare/_workers.ts";

/** PushoverDevice on the real clock plus what the test moved it by. */
export class ClockedDevice extends PushoverDevice {
  readonly #clock: { ahead: number };

  constructor(state: DurableObjectState, env: DeviceEnv) {
    // Made before super(), which takes the clock: `this` is not there yet.
    const clock = { ahead: 0 };
    super(state, env, { now: () => Date.now() + clock.ahead });
    this.#clock = clock;
  }

  /** `POST /clock?ms=N` moves the clock; anything else is the object's. */
  override fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/clock") return super.fetch(request);
    this.#clock.ahead += Number(url.searchParams.get("ms"));
    return Promise.resolve(Response.json({ ahead: this.#clock.ahead }));
  }
}

export default {
  fetch(request: Request, env: WorkerEnv): Promise<Response> {
    const url = new URL(request.url);
    const [, route, id = ""] = url.pathname.split("/");
    if (route !== "clock") return worker.fetch(request, env);
    const stub = env.DEVICE.get(env.DEVICE.idFromName(id));
    return stub.fetch(
      new Request(`https://device/clock${url.search}`, { method: "POST" }),
    );
  },
};
