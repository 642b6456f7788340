import { render } from "@testing-library/react";
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
});
