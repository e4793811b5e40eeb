// The local web app's listener: node:http (Deno, Bun and Node alike)
// handing each request to a fetch-style handler, streaming its answer (the
// event stream stays open). Binds 127.0.0.1 unless told otherwise.

import { Buffer } from "node:buffer";
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { usage } from "./_fail.ts";

/** `HOST:PORT` of `--http`, checked. */
export interface Address {
  host: string;
  port: number;
  /** Loopback: 127.0.0.1, ::1 or localhost. */
  loopback: boolean;
}

/** Parses `--http`'s value: `PORT`, `HOST:PORT` or `[IPv6]:PORT`. */
export function parseAddress(value: string): Address {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(
    value,
  );
  const port = Number(match?.[2]);
  if (!match || port > 65_535) {
    throw usage(
      `--http: '${value}' is not [HOST:]PORT; for example 127.0.0.1:8642`,
    );
  }
  const host = (match[1] ?? "127.0.0.1").replace(/^\[|\]$/g, "");
  const loopback = host === "127.0.0.1" || host === "::1" ||
    host === "localhost";
  return { host, port, loopback };
}

/** A running server: its port, and how to stop it. */
export interface WebServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `handler` on `address`; resolves once bound. */
export async function serveWeb(
  address: Address,
  handler: (request: Request) => Promise<Response>,
): Promise<WebServer> {
  const server = createServer((request, response) => {
    request.on("error", () => {});
    response.on("error", () => {});
    void answer(request, response, handler);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(
        usage(
          `--http: cannot listen on ${address.host}:${address.port} (${
            (error as { code?: string }).code ?? (error as Error).message
          })`,
        ),
      ));
    server.listen(address.port, address.host, resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One request through the handler; a failure is a 500 without a stack. */
async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  handler: (request: Request) => Promise<Response>,
): Promise<void> {
  const aborted = new AbortController();
  response.on("close", () => aborted.abort());
  let result: Response;
  try {
    const body = request.method === "GET" || request.method === "HEAD"
      ? undefined
      : await bodyOf(request);
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === "string") headers.set(name, value);
      else if (Array.isArray(value)) headers.set(name, value.join(", "));
    }
    const host = request.headers.host ?? "127.0.0.1";
    result = await handler(
      new Request(`http://${host}${request.url ?? "/"}`, {
        method: request.method,
        headers,
        body,
        signal: aborted.signal,
      }),
    );
  } catch {
    result = new Response('{"error":"internal error"}', {
      status: 500,
      headers: { "content-type": "application/json" },
    });
  }
  response.writeHead(result.status, Object.fromEntries(result.headers));
  if (!result.body) {
    response.end();
    return;
  }
  const reader = result.body.getReader();
  const cancel = () => reader.cancel().catch(() => {});
  // A client gone while the handler worked (a page reloaded) is gone
  // already: its body (an event stream's subscription) ends now.
  if (aborted.signal.aborted) cancel();
  else aborted.signal.addEventListener("abort", cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      response.write(value);
    }
  } catch {
    // the reader went away
  }
  response.end();
}

/** A request's body, at most 64 KiB (the API's are a few bytes). */
function bodyOf(request: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > 65_536) {
        request.destroy();
        reject(new Error("body too large"));
      } else chunks.push(chunk);
    });
    request.on(
      "end",
      () => resolve(new Uint8Array(Buffer.concat(chunks)).slice()),
    );
    request.on("error", reject);
  });
}
