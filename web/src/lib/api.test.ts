import { createApi, unwrap } from "./api";
import { ApiError, fieldErrorsFrom } from "./errors";
import { fakeServer, json } from "../test/fakeServer";

function hooks(token: string | null = "ry_user_abc") {
  return { getToken: () => token, onUnauthorized: vi.fn(), onConnection: vi.fn() };
}

afterEach(() => vi.unstubAllGlobals());

describe("the API client", () => {
  it("sends the session's token as a bearer header", async () => {
    const server = fakeServer({ "GET /api/v1/users/me": () => json({ id: "u1", email: "a@b" }) });
    vi.stubGlobal("fetch", server.fetchImpl);
    const api = createApi(hooks());
    const me = unwrap(await api.client.GET("/api/v1/users/me"));
    expect(me.email).toBe("a@b");
    expect(server.calls[0].headers.get("Authorization")).toBe("Bearer ry_user_abc");
  });

  it("reports a 401 so the app can send the user back to sign-in", async () => {
    const server = fakeServer({ "GET /api/v1/runs": () => json({ detail: "token revoked" }, 401) });
    vi.stubGlobal("fetch", server.fetchImpl);
    const h = hooks();
    const api = createApi(h);
    await expect(api.request("/api/v1/runs")).rejects.toBeInstanceOf(ApiError);
    expect(h.onUnauthorized).toHaveBeenCalledWith("token revoked");
  });

  it("reports a 401 from a typed call too", async () => {
    const server = fakeServer({ "GET /api/v1/runs": () => json({ detail: "bad token" }, 401) });
    vi.stubGlobal("fetch", server.fetchImpl);
    const h = hooks();
    await createApi(h).client.GET("/api/v1/runs");
    expect(h.onUnauthorized).toHaveBeenCalledWith("bad token");
  });

  it("reports a lost connection and its recovery", async () => {
    const h = hooks();
    vi.stubGlobal("fetch", vi.fn().mockRejectedValueOnce(new TypeError("Failed to fetch")));
    const api = createApi(h);
    await expect(api.request("/api/v1/runs")).rejects.toThrow("Failed to fetch");
    expect(h.onConnection).toHaveBeenLastCalledWith(false);
    vi.stubGlobal("fetch", fakeServer({ "GET /api/v1/runs": () => json({ items: [] }) }).fetchImpl);
    await api.request("/api/v1/runs");
    expect(h.onConnection).toHaveBeenLastCalledWith(true);
  });

  it("turns a 422 into field errors without the leading 'body'", async () => {
    const detail = [{ loc: ["body", "resources", "gpus_per_node"], msg: "must be >= 0", type: "x" }];
    const server = fakeServer({ "POST /api/v1/experiments": () => json({ detail }, 422) });
    vi.stubGlobal("fetch", server.fetchImpl);
    const api = createApi(hooks());
    const error = (() => {
      try {
        return unwrap({ error: { detail }, response: new Response(null, { status: 422 }) });
      } catch (err) {
        return err as ApiError;
      }
    })() as ApiError;
    expect(error.status).toBe(422);
    expect(error.fieldErrors).toEqual([{ path: "resources.gpus_per_node", message: "must be >= 0" }]);
    expect(api).toBeTruthy();
  });
});

describe("fieldErrorsFrom", () => {
  it("ignores a detail that is not a list", () => {
    expect(fieldErrorsFrom("nope")).toEqual([]);
  });
});
