import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { fakeServer, json } from "@/test/fakeServer";
import { renderPage } from "@/test/renderWithApi";
import { ArtifactBrowser } from "./ArtifactBrowser";

afterEach(() => vi.unstubAllGlobals());

const at = "2024-01-01T00:00:00Z";
const entry = (path: string, kind: "file" | "dir", size = 0, preview: "text" | "image" | null = null) => ({
  path, name: path.split("/").pop()!, kind, size, modified: at, preview,
});

describe("ArtifactBrowser", () => {
  it("shows the folder as a tree, folds directories and previews JSON indented", async () => {
    const server = fakeServer({
      "GET /api/v1/runs/{id}/artifacts": () =>
        json({
          run_id: "r1",
          entries: [
            entry("checkpoints", "dir"),
            entry("checkpoints/a.ckpt", "file", 2048),
            entry("reports", "dir"),
            entry("reports/metrics.json", "file", 12, "text"),
          ],
        }),
      "GET /api/v1/runs/{id}/artifacts/files/reports/metrics.json": () => json({ acc: 0.9 }),
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    renderPage(<ArtifactBrowser runId="r1" enabled live={false} />);
    await screen.findByText("a.ckpt");
    expect(screen.getByText("2.0 KiB", { exact: false })).toBeInTheDocument();

    await userEvent.click(screen.getByRole("button", { name: /^. checkpoints\/$/ }));
    expect(screen.queryByText("a.ckpt")).not.toBeInTheDocument();

    await userEvent.click(screen.getByRole("button", { name: "metrics.json" }));
    await waitFor(() => expect(screen.getByTestId("artifact-preview").querySelector("pre")?.textContent).toBe('{\n  "acc": 0.9\n}'));
    const asked = server.calls.map((c) => new URL(c.url).pathname + new URL(c.url).search);
    expect(asked).toContain("/api/v1/runs/r1/artifacts/files/reports/metrics.json?preview=true");
  });
});
