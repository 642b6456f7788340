import { render, screen } from "@testing-library/react";
import { saveToken } from "@/lib/session";
import { fakeServer, json } from "@/test/fakeServer";
import { App } from "./App";

afterEach(() => {
  vi.unstubAllGlobals();
  window.location.hash = "";
});

const me = { id: "u1", email: "ann@example.test", name: "ann", is_admin: false, is_active: true, created_at: "" };

describe("App", () => {
  it("asks for a token when there is none", () => {
    render(<App />);
    expect(screen.getByLabelText("API token")).toBeInTheDocument();
  });

  it("sends the user back to sign-in with a message on a 401", async () => {
    saveToken("ry_user_revoked");
    vi.stubGlobal("fetch", fakeServer({ "GET /api/v1/users/me": () => json({ detail: "this token was revoked" }, 401) }).fetchImpl);
    render(<App />);
    expect(await screen.findByLabelText("API token")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("this token was revoked");
    expect(sessionStorage.getItem("runyard.token")).toBeNull();
  });

  it("shows a banner while the server is unreachable and clears it on recovery", async () => {
    saveToken("ry_user_ok");
    let down = true;
    const server = fakeServer({
      "GET /api/v1/users/me": () => json(me),
      "GET /api/v1/projects": () => json([]),
      "GET /api/v1/runs": () => json({ items: [], next_cursor: null }),
      "GET /healthz": () => json({ status: "ok", database: "ok" }),
    });
    vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
      if (down) throw new TypeError("Failed to fetch");
      return server.fetchImpl(input, init);
    });
    render(<App />);
    expect(await screen.findByTestId("connection-banner")).toBeInTheDocument();
    down = false;
    await screen.findByText(/No runs match/, {}, { timeout: 8000 });
    expect(screen.queryByTestId("connection-banner")).not.toBeInTheDocument();
  });
});
