/** A tiny in-test HTTP fake for the browser's fetch: routes by method and path, records calls.
 * The real server is exercised by the Python end-to-end tests; these test the client side. */
export type Handler = (request: Request, url: URL) => Response | Promise<Response>;

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

export function fakeServer(routes: Record<string, Handler>) {
  const calls: Request[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(new URL(String(input), "http://test"), init);
    calls.push(request);
    const url = new URL(request.url, "http://test");
    const key = `${request.method} ${url.pathname}`;
    const match = Object.entries(routes).find(([pattern]) =>
      new RegExp(`^${pattern.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(key),
    );
    if (!match) return json({ detail: `no fake for ${key}` }, 404);
    return match[1](request, url);
  };
  return { calls, fetchImpl };
}

/** How many recorded calls match `METHOD /path` (the path may hold {placeholders}). */
export function countCalls(calls: Request[], pattern: string): number {
  const matcher = new RegExp(`^${pattern.replace(/\{[^}]+\}/g, "[^/]+")}$`);
  return calls.filter((c) => matcher.test(`${c.method} ${new URL(c.url, "http://test").pathname}`)).length;
}

/** A text/event-stream response the test writes messages into as it goes. */
export function eventStream() {
  const encoder = new TextEncoder();
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return {
    response: () => new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } }),
    send: (event: string, id: string, data: unknown) =>
      controller?.enqueue(encoder.encode(`event: ${event}\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`)),
  };
}
