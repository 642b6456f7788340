import { compareEventIds, followEvents, type SseMessage } from "./sse";

function streamOf(chunks: string[], endOpen = false): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (!endOpen) controller.close();
    },
  });
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("compareEventIds", () => {
  it("orders Runyard cursors component by component, including a -1 sequence", () => {
    expect(compareEventIds("5.1.-1.0", "5.1.0.0")).toBe(-1);
    expect(compareEventIds("10.0.-1.0", "9.9.9.9")).toBe(1);
    expect(compareEventIds("3.1.2.1", "3.1.2.1")).toBe(0);
  });

  it("orders Redis stream ids numerically", () => {
    expect(compareEventIds("1700-2", "1700-10")).toBe(-1);
  });
});

describe("followEvents", () => {
  it("reconnects with Last-Event-ID and drops messages it already delivered", async () => {
    const seenHeaders: (string | null)[] = [];
    const bodies = [
      // First connection: two messages, then the connection drops.
      ["id: 1.0.-1.0\nevent: log\ndata: a\n\n", "id: 2.0.-1.0\nevent: log\ndata: b\n\n"],
      // The server replays the last one (at-least-once), then a new one, then ends.
      ["id: 2.0.-1.0\nevent: log\ndata: b\n\n", "id: 3.0.-1.0\nevent: log\ndata: c\n\n", "id: 3.0.-1.0\nevent: end\ndata: {}\n\n"],
    ];
    const fetchImpl = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
      seenHeaders.push(new Headers(init?.headers).get("Last-Event-ID"));
      return new Response(streamOf(bodies[seenHeaders.length - 1]), { status: 200 });
    });
    const got: SseMessage[] = [];
    let closed = false;
    followEvents({
      url: "/events",
      getToken: () => "ry_user_x",
      fetchImpl: fetchImpl as unknown as typeof fetch,
      retryMs: 1,
      onMessage: (m) => got.push(m),
      onStatus: (s) => {
        if (s === "closed") closed = true;
      },
    });
    await waitUntil(() => closed, "the stream to end");
    expect(got.map((m) => m.data)).toEqual(["a", "b", "c", "{}"]);
    expect(seenHeaders).toEqual([null, "2.0.-1.0"]);
  });

  it("sends the bearer token and stops for good on 404", async () => {
    const fetchImpl = vi.fn(async () => new Response("", { status: 404 }));
    let closed = false;
    followEvents({
      url: "/events",
      getToken: () => "ry_user_secret",
      fetchImpl: fetchImpl as unknown as typeof fetch,
      retryMs: 1,
      onMessage: () => undefined,
      onStatus: (s) => {
        if (s === "closed") closed = true;
      },
    });
    await waitUntil(() => closed, "the follower to give up");
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    const init = fetchImpl.mock.calls[0] as unknown as [string, RequestInit];
    expect(new Headers(init[1].headers).get("Authorization")).toBe("Bearer ry_user_secret");
  });

  it("parses messages split across chunks, with CRLF endings, comments and retry advice", async () => {
    const chunks = [": ping\r\nretry: 2000\r\nevent: open\r\nid: 0.0.-1.0\r\nda", 'ta: {"cursor":"0.0.-1.0"}\r\n\r\n', "event: log\nid: 1.0.-1.0\ndata: one\ndata: two\n\n", "event: end\nid: 1.0.-1.0\ndata: {}\n\n"];
    const fetchImpl = vi.fn(async () => new Response(streamOf(chunks), { status: 200 }));
    const got: SseMessage[] = [];
    let closed = false;
    followEvents({
      url: "/events",
      getToken: () => null,
      fetchImpl: fetchImpl as unknown as typeof fetch,
      onMessage: (m) => got.push(m),
      onStatus: (s) => {
        if (s === "closed") closed = true;
      },
    });
    await waitUntil(() => closed, "the stream to end");
    expect(got).toEqual([
      { event: "open", id: "0.0.-1.0", data: '{"cursor":"0.0.-1.0"}' },
      { event: "log", id: "1.0.-1.0", data: "one\ntwo" },
      { event: "end", id: "1.0.-1.0", data: "{}" },
    ]);
  });

  it("restarts without a cursor after onReset when the server refuses it", async () => {
    const seen: (string | null)[] = [];
    const fetchImpl = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get("Last-Event-ID"));
      if (seen.length === 1) return new Response("", { status: 422 });
      return new Response(streamOf(["event: open\nid: 9.0.-1.0\ndata: {}\n\n", "event: end\nid: 9.0.-1.0\ndata: {}\n\n"]), { status: 200 });
    });
    let resets = 0;
    let closed = false;
    followEvents({
      url: "/events",
      getToken: () => null,
      lastEventId: "5.0.-1.0",
      retryMs: 1,
      fetchImpl: fetchImpl as unknown as typeof fetch,
      onReset: () => resets++,
      onMessage: () => undefined,
      onStatus: (s) => {
        if (s === "closed") closed = true;
      },
    });
    await waitUntil(() => closed, "the stream to end");
    expect(resets).toBe(1);
    expect(seen).toEqual(["5.0.-1.0", null]);
  });
});
