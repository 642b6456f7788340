import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { renderMarkdown } from "@/lib/markdown";
import { ema, logSafe } from "@/lib/charts/shape";
import { fakeServer, json } from "@/test/fakeServer";
import { renderPage } from "@/test/renderWithApi";
import type { RunDetail } from "../api/run";
import { RunNotes } from "./RunNotes";
import { bestDirection, RunSummary } from "./RunSummary";

const detail = (over: Partial<RunDetail> = {}) =>
  ({ id: "r1", tags: ["keep"], experiment_tags: ["exp"], notes: "", ...over }) as RunDetail;

afterEach(() => vi.unstubAllGlobals());

describe("Markdown notes", () => {
  it("renders Markdown and strips scripts, handlers and javascript: links", () => {
    const html = renderMarkdown('# Title\n**bold** <img src=x onerror="alert(1)"><script>alert(2)</script> [x](javascript:alert(3)) [ok](https://example.test)');
    expect(html).toContain("<h1>Title</h1>");
    expect(html).toContain("<strong>bold</strong>");
    expect(html).not.toMatch(/onerror|<script|javascript:/);
    expect(html).toContain('href="https://example.test"');
    expect(html).toContain('rel="noopener noreferrer"');
  });

  it("saves edited notes and a new tag through PATCH /runs/{id}", async () => {
    const bodies: unknown[] = [];
    const server = fakeServer({
      "PATCH /api/v1/runs/{id}": async (req) => {
        const body = await req.json();
        bodies.push(body);
        return json(detail({ ...body }));
      },
    });
    vi.stubGlobal("fetch", server.fetchImpl);
    const onSaved = vi.fn();
    renderPage(<RunNotes run={detail()} mayEdit onSaved={onSaved} />);
    await userEvent.type(screen.getByLabelText("New tag"), "best{Enter}");
    await waitFor(() => expect(bodies).toContainEqual({ tags: ["keep", "best"] }));
    await userEvent.click(screen.getByRole("button", { name: "Edit notes" }));
    await userEvent.type(screen.getByLabelText("Notes (Markdown)"), "lr *too* high");
    await userEvent.click(screen.getByRole("button", { name: "Save notes" }));
    await waitFor(() => expect(bodies).toContainEqual({ notes: "lr *too* high" }));
    expect(onSaved).toHaveBeenCalledTimes(2);
  });

  it("shows the server's refusal and offers no editing to viewers", async () => {
    vi.stubGlobal(
      "fetch",
      fakeServer({ "PATCH /api/v1/runs/{id}": () => json({ detail: "you are a viewer of this project" }, 403) }).fetchImpl,
    );
    const { unmount } = renderPage(<RunNotes run={detail()} mayEdit onSaved={() => undefined} />);
    await userEvent.click(screen.getByRole("button", { name: "remove tag keep" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("viewer");
    unmount();
    renderPage(<RunNotes run={detail({ notes: "**hi**" })} mayEdit={false} onSaved={() => undefined} />);
    expect(screen.queryByRole("button", { name: "Edit notes" })).toBeNull();
    expect(screen.getByTestId("notes-view").innerHTML).toContain("<strong>hi</strong>");
  });
});

describe("summary and chart helpers", () => {
  it("picks the best end of each metric", () => {
    expect(bestDirection("val_loss")).toBe("min");
    expect(bestDirection("val_acc")).toBe("max");
    expect(bestDirection("score", "score", "min")).toBe("min");
    render(
      <RunSummary
        summary={{
          run_id: "r1",
          usage: {} as never,
          metrics: [
            { key: "loss", points: 3, first_step: 0, last: { step: 2, value: 0.5 }, min: { step: 1, value: 0.25 }, max: { step: 0, value: 2 } },
          ],
        }}
      />,
    );
    const row = document.querySelector('[data-metric-summary="loss"]')!;
    expect(row.querySelector("[data-best]")).toHaveTextContent("0.25 min · step 1");
    expect(row.querySelector("[data-last]")).toHaveTextContent("0.5 step 2");
  });

  it("smooths with a debiased EMA across gaps and keeps a log scale to positive values", () => {
    expect(ema([1, 1, 1], 0.9)).toEqual([1, 1, 1].map(() => expect.closeTo(1, 10)));
    const smoothed = ema([0, null, 10], 0.5);
    expect(smoothed[1]).toBeNull();
    expect(smoothed[2]).toBeCloseTo((0.5 * 0 * 0.5 + 0.5 * 10) / (1 - 0.25), 10);
    expect(ema([3, 4], 0)).toEqual([3, 4]);
    expect(logSafe([-1, 0, 2, null])).toEqual([null, null, 2, null]);
  });
});
