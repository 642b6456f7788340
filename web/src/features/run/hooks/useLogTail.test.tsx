import { renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { ApiContext, createApi } from "@/lib/api";
import { fakeServer, json } from "@/test/fakeServer";
import { useLogTail } from "./useLogTail";

afterEach(() => vi.unstubAllGlobals());

const line = (id: number) => ({ id, attempt: 1, stream: "stdout", text: `line ${id}`, ts: "2024-01-01T00:00:00Z" });

describe("useLogTail", () => {
  it("reads by cursor, so repeated doorbells never repeat or lose a line", async () => {
    let stored = [line(1), line(2)];
    const server = fakeServer({
      "GET /api/v1/runs/{id}/logs": (_req, url) => {
        const after = Number(url.searchParams.get("after") ?? 0);
        const page = stored.filter((l) => l.id > after);
        return json({ run_id: "r", lines: page, next_after: page.length ? page[page.length - 1].id : null });
      },
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    const api = createApi({ getToken: () => "t", onUnauthorized: vi.fn(), onConnection: vi.fn() });
    const wrapper = ({ children }: { children: ReactNode }) => <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
    const { result, rerender } = renderHook(({ bump }) => useLogTail("r", bump, false, 60_000), {
      wrapper,
      initialProps: { bump: 0 },
    });
    await waitFor(() => expect(result.current.lines.map((l) => l.id)).toEqual([1, 2]));

    stored = [...stored, line(3), line(4)];
    rerender({ bump: 1 });
    rerender({ bump: 2 });
    rerender({ bump: 3 });
    await waitFor(() => expect(result.current.lines.map((l) => l.id)).toEqual([1, 2, 3, 4]));
    const afters = server.calls.map((c) => new URL(c.url).searchParams.get("after"));
    expect(afters).not.toContain("0");
    expect(afters[0]).toBeNull();
  });
});
