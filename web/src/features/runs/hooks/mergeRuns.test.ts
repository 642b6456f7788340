import type { Run } from "../api/runs";
import { mergeRuns } from "./mergeRuns";

const run = (id: string, state: Run["state"], created_at: string) => ({ id, state, created_at }) as Run;

describe("mergeRuns", () => {
  it("replaces stale copies in place and puts unseen runs on top, newest first", () => {
    const rows = [run("b", "running", "2024-01-02"), run("a", "queued", "2024-01-01")];
    const fresh = [run("a", "running", "2024-01-01"), run("c", "queued", "2024-01-03"), run("d", "queued", "2024-01-04")];
    expect(mergeRuns(rows, fresh, true).map((r) => `${r.id}:${r.state}`)).toEqual([
      "d:queued",
      "c:queued",
      "b:running",
      "a:running",
    ]);
  });

  it("only updates when the list is not sorted newest first", () => {
    const rows = [run("a", "queued", "2024-01-01")];
    expect(mergeRuns(rows, [run("a", "failed", "2024-01-01"), run("z", "queued", "2024-02-01")], false)).toEqual([
      run("a", "failed", "2024-01-01"),
    ]);
  });
});
