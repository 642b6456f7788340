import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import type { Run } from "../api/runs";
import { RunsTable } from "./RunsTable";

const manyRuns = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `run-${String(i).padStart(5, "0")}`,
    experiment_name: `exp-${i}`,
    project_id: "p",
    owner_id: "u",
    trial_index: 0,
    state: "completed",
    priority: 0,
    created_at: "2024-01-01T00:00:00Z",
    started_at: null,
    finished_at: null,
  })) as unknown as Run[];

describe("RunsTable", () => {
  it("keeps only a screenful of rows in the page at 10,000 runs", () => {
    const { container } = render(
      <MemoryRouter>
        <RunsTable rows={manyRuns(10_000)} directory={undefined} selected={new Set()} onToggle={() => undefined} hasMore={false} onNeedMore={() => undefined} />
      </MemoryRouter>,
    );
    const rendered = container.querySelectorAll("[data-run-id]").length;
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(100);
  });

  it("asks for the next page when the end of the loaded rows is on screen", () => {
    const onNeedMore = vi.fn();
    render(
      <MemoryRouter>
        <RunsTable rows={manyRuns(20)} directory={undefined} selected={new Set()} onToggle={() => undefined} hasMore onNeedMore={onNeedMore} />
      </MemoryRouter>,
    );
    expect(onNeedMore).toHaveBeenCalled();
  });

  it("shows each ASHA trial's rung, and where the search stopped it", () => {
    const trials = [
      { ...manyRuns(1)[0], id: "t-top", state: "running", rung: 2, exit_reason: null },
      { ...manyRuns(1)[0], id: "t-wait", state: "paused", rung: 0, exit_reason: null },
      { ...manyRuns(1)[0], id: "t-stop", state: "completed", rung: 1, exit_reason: "stopped by ASHA at rung 1" },
      { ...manyRuns(1)[0], id: "plain", state: "completed", rung: null, exit_reason: null },
    ] as unknown as Run[];
    const { container } = render(
      <MemoryRouter>
        <RunsTable rows={trials} directory={undefined} selected={new Set()} onToggle={() => undefined} hasMore={false} onNeedMore={() => undefined} />
      </MemoryRouter>,
    );
    expect(screen.getByRole("columnheader", { name: "Rung" })).toBeInTheDocument();
    const rungCell = (id: string) => within(container.querySelector(`[data-run-id="${id}"]`) as HTMLElement).getAllByRole("cell")[3];
    expect(rungCell("t-top")).toHaveTextContent("rung 2");
    expect(rungCell("t-wait")).toHaveTextContent("rung 0");
    expect(rungCell("t-stop")).toHaveTextContent("stopped at rung 1");
    expect(rungCell("plain")).toBeEmptyDOMElement();
  });
});
