// A Worker that runs the fake server itself, in-process (listen: false), and
// the library against it through the fake's own fetch and WebSocket: proof
// that both run unchanged inside workerd with no listener, no network and no
// nodejs_compat. run.ts bundles it (the fake's loopback listener, which needs
// node:http, stays out of the bundle) and posts one request to it.

import {
  decryptMessage,
  login,
  registerDevice,
  streamMessages,
} from "../../mod.ts";
import type { Message } from "../../mod.ts";
import { startFakeServer } from "../../testing/mod.ts";

/** What the Worker answers. */
export interface InProcessReport {
  userAgent: string | undefined;
  /** Message bodies, in the order the stream yielded them. */
  streamed: string[];
  /** Messages still queued once the stream ended with `break`. */
  left: number;
  logins: number;
  deletes: number;
  /** The fields posted, decrypted inside workerd with WebCrypto. */
  decrypted: { title?: string; message: string; e2ee?: string };
}

/** What run.ts posts: fields an encrypting sender made, and the key. */
export interface DecryptRequest {
  key: string;
  title: string;
  message: string;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const sealed = await request.json() as DecryptRequest;
    const server = await startFakeServer({
      listen: false,
      keepAliveInterval: 0,
      accounts: [{ email: "memory@example.com", password: "pw" }],
    });
    try {
      const options = {
        apiUrl: server.apiUrl,
        fetch: server.fetch,
        websocketUrl: server.websocketUrl,
        WebSocket: server.WebSocket,
      };
      const session = await login(
        { email: "memory@example.com", password: "pw" },
        options,
      );
      const device = await registerDevice(session, "in-process", options);
      // Sent once the stream is logged in, so each arrives by a '!' frame.
      const live = server.waitForLogin(device.deviceId).then(() => {
        server.send({ message: "live 1" });
        server.send({ message: "live 2" });
      });
      const streamed: string[] = [];
      for await (const message of streamMessages(device, options)) {
        streamed.push(message.message);
        if (streamed.length === 3) break;
      }
      await live;
      const decrypted = await decryptMessage(
        {
          id: 1,
          id_str: "1",
          title: sealed.title,
          message: sealed.message,
        } as Message,
        sealed.key,
      );
      const report: InProcessReport = {
        decrypted: {
          title: decrypted.title,
          message: decrypted.message,
          e2ee: decrypted.e2ee,
        },
        userAgent: (globalThis.navigator as { userAgent?: string } | undefined)
          ?.userAgent,
        streamed,
        left: server.store.devices.get(device.deviceId)!.queue.length,
        logins: server.log.sockets("login").length,
        deletes: server.log.requests("delete").length,
      };
      return Response.json(report);
    } catch (error) {
      return new Response(String((error as Error)?.stack ?? error), {
        status: 500,
      });
    } finally {
      await server.close();
    }
  },
};
