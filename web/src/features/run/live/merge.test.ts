import { mergeLines, mergePoints, mergeSummary } from "./merge";

const sp = (key: string, step: number, value = step) => ({ key, step, value, epoch: 0, wall_time: step, attempt: 1 });
const line = (id: number) => ({ id, attempt: 1, stream: "stdout", text: `l${id}`, ts: "t" });

describe("merging stream payloads", () => {
  it("inserts points by step, replaces a repeated step and adds new keys in order", () => {
    const data = { keys: ["loss"], points: { loss: [0, 2].map((s) => ({ step: s, value: s, epoch: 0, wall_time: s })) } };
    const merged = mergePoints(data, [sp("loss", 1), sp("loss", 2, 9), sp("acc", 0)]);
    expect(merged.keys).toEqual(["acc", "loss"]);
    expect(merged.points.loss.map((p) => [p.step, p.value])).toEqual([[0, 0], [1, 1], [2, 9]]);
    expect(data.points.loss).toHaveLength(2); // the cached value is never mutated
  });

  it("adds only log lines past the last id held", () => {
    expect(mergeLines({ lines: [line(1), line(2)] }, [line(2), line(3)]).lines.map((l) => l.id)).toEqual([1, 2, 3]);
  });

  it("moves last, min and max of a metric with new steps only", () => {
    const summary = {
      run_id: "r",
      usage: { log_bytes: 0, log_lines_dropped: 0, metric_keys: 1, metric_points_refused: 0, events_refused: 0 },
      metrics: [{ key: "loss", points: 2, first_step: 0, last: { step: 1, value: 0.5 }, min: { step: 1, value: 0.5 }, max: { step: 0, value: 1 } }],
    };
    const merged = mergeSummary(summary, [sp("loss", 1, 0.1), sp("loss", 2, 0.2)]);
    expect(merged.metrics[0]).toMatchObject({ points: 3, last: { step: 2, value: 0.2 }, min: { step: 2, value: 0.2 }, max: { step: 0, value: 1 } });
  });
});
