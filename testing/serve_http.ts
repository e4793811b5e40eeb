/**
 * The listener: `node:http` for requests, a hand-written RFC 6455 server
 * ({@linkcode acceptWebSocket}) for the upgrade path. Deno and Bun run it as
 * Node does, so the fake behaves the same on all three: drops are real TCP
 * losses, pings only when asked for, and a GET's body is read.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { Listener, ServeOptions } from "./serve.ts";
import {
  acceptWebSocket,
  type NodeWebSocket,
  refuseUpgrade,
} from "./websocket_server.ts";

/** Starts the listener on 127.0.0.1 and resolves once it is bound. */
export function serveHttp(options: ServeOptions): Promise<Listener> {
  const sockets = new Set<NodeWebSocket>();
  let port = options.port;

  const server = createServer((request, response) => {
    // A client that goes away mid-request is not the server's failure: one
    // line at most, never a stack.
    request.on("error", () => {});
    respond(options, port, request, response).catch((error) =>
      console.error(`fake server: a request failed: ${describeError(error)}`)
    );
  });

  server.on(
    "upgrade",
    (
      request: IncomingMessage,
      socket: IncomingMessage["socket"],
      head: Buffer,
    ) => {
      socket.on("error", () => {}); // a reset before the handshake must not crash the process
      const { pathname } = new URL(request.url ?? "/", "http://127.0.0.1");
      if (
        pathname !== options.websocketPath ||
        request.headers.upgrade?.toLowerCase() !== "websocket"
      ) {
        refuseUpgrade(socket, "404 Not Found");
        return;
      }
      const address = socket.remoteAddress ?? "unknown";
      if (!options.admit(address)) {
        refuseUpgrade(socket, "429 Too Many Requests");
        return;
      }
      const ws = acceptWebSocket(
        request,
        socket,
        head,
        address,
        options.websocket,
      );
      if (ws === undefined) return;
      sockets.add(ws);
      void ws.closed.then(() => sockets.delete(ws));
    },
  );

  async function close(): Promise<void> {
    // server.close() stops listening and resolves once every TCP connection,
    // upgraded ones included, is gone; it only drops idle keep-alive ones itself.
    const stopped = new Promise<void>((resolve) =>
      server.close(() => resolve())
    );
    // Requests still waiting on a handler: destroying them aborts request.signal.
    server.closeAllConnections();
    const open = [...sockets];
    for (const ws of open) ws.close(1001, "server closing");
    await Promise.all(open.map((ws) => ws.closed));
    await stopped;
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => {
      server.off("error", reject);
      server.on(
        "error",
        (error) => console.error(`fake server: ${describeError(error)}`),
      );
      const address = server.address();
      if (address !== null && typeof address === "object") port = address.port;
      resolve({ port, close });
    });
  });
}

/** Runs one request through `options.fetch` and writes the result back. */
async function respond(
  options: ServeOptions,
  port: number,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  // Writing to a connection the client already dropped must not crash the process.
  response.on("error", () => {});
  // "close" also fires after a normal finish; only an unfinished response means
  // the client went away (request "close" fires once the body is read, so it
  // cannot tell).
  const abort = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished) abort.abort();
  });

  let result: Response;
  try {
    const { webRequest, getBody } = await toRequest(
      request,
      port,
      abort.signal,
    );
    result = await options.fetch(webRequest, getBody);
  } catch (error) {
    if (abort.signal.aborted) return; // nobody left to answer
    console.error("fake server: handler failed:", error);
    result = new Response("internal error", { status: 500 });
  }
  if (response.destroyed) return;

  try {
    const body = new Uint8Array(await result.arrayBuffer());
    response.statusCode = result.status;
    if (result.statusText) response.statusMessage = result.statusText;
    for (const [name, value] of result.headers) {
      if (name !== "set-cookie") response.setHeader(name, value);
    }
    // Headers joins set-cookie values with commas; keep them separate.
    const cookies = result.headers.getSetCookie();
    if (cookies.length > 0) response.setHeader("set-cookie", cookies);
    response.end(body);
  } catch (error) {
    console.error("fake server: response failed:", error);
    response.destroy();
  }
}

/**
 * IncomingMessage → web Request, with the whole body read up front; a GET's
 * body, which a Request cannot hold, comes back beside it as text.
 */
async function toRequest(
  request: IncomingMessage,
  port: number,
  signal: AbortSignal,
): Promise<{ webRequest: Request; getBody?: string }> {
  const headers = new Headers();
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  const method = request.method ?? "GET";
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const bytes = new Uint8Array(Buffer.concat(chunks));
  const bodiless = method === "GET" || method === "HEAD";
  const webRequest = new Request(
    `http://127.0.0.1:${port}${request.url ?? "/"}`,
    { method, headers, body: bodiless ? undefined : bytes, signal },
  );
  return {
    webRequest,
    getBody: method === "GET" && bytes.length > 0
      ? new TextDecoder().decode(bytes)
      : undefined,
  };
}

/** One line for a failure: its code and message, no stack. */
function describeError(error: unknown): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = String(message ?? error).split("\n")[0];
  return typeof code === "string" ? `${code}: ${text}` : text;
}
