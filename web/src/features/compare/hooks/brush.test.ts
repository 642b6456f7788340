import { brushedRows, brushExpression, edge, fieldName, inIntervals, withBrush } from "./brush";
import { axisOf, metricColumn, paramColumn, type CompareRow } from "./columns";

const row = (id: string, lr: number, optim: string, acc: number | null): CompareRow =>
  ({
    id,
    experiment_id: "e",
    experiment_name: "sweep",
    state: "completed",
    trial_index: 0,
    created_at: "2026-01-01T00:00:00Z",
    params: { "model.lr": lr, optim },
    metrics: acc === null ? {} : { val_acc: { last: acc, min: acc, max: acc, last_step: 1 } },
  }) as CompareRow;

const rows = [row("a", 0.1, "adam", 0.9), row("b", 0.01, "sgd", 0.7), row("c", 0.001, "adam", 0.5), row("d", 0.05, "sgd", null)];
const axes = [axisOf(rows, paramColumn("model.lr")), axisOf(rows, paramColumn("optim")), axisOf(rows, metricColumn("val_acc"))];
const ids = (list: CompareRow[]) => list.map((r) => r.id);

describe("inIntervals", () => {
  it("selects everything without intervals, and nothing without a value once brushed", () => {
    expect(inIntervals(null, [])).toBe(true);
    expect(inIntervals(null, [[0, 1]])).toBe(false);
    expect(inIntervals(0.5, [[1, 0]])).toBe(true);
    expect(inIntervals(2, [[0, 1], [1.5, 2]])).toBe(true);
  });
});

describe("brushedRows", () => {
  it("keeps every row while nothing is brushed", () => {
    expect(ids(brushedRows(rows, axes, {}))).toEqual(["a", "b", "c", "d"]);
  });

  it("keeps rows inside the brush of a metric axis, dropping runs without the metric", () => {
    expect(ids(brushedRows(rows, axes, { "metrics.val_acc": [[0.6, 1]] }))).toEqual(["a", "b"]);
  });

  it("ands the axes and ors the intervals of one axis", () => {
    const brushes = { "metrics.val_acc": [[0.4, 0.6], [0.85, 1]] as [number, number][], optim: [] };
    expect(ids(brushedRows(rows, axes, brushes))).toEqual(["a", "c"]);
    expect(ids(brushedRows(rows, axes, { ...brushes, "params.optim": [[-0.4, 0.4]] }))).toEqual(["a", "c"]);
    expect(ids(brushedRows(rows, axes, { ...brushes, "params.model.lr": [[0.05, 0.2]] }))).toEqual(["a"]);
  });

  it("brushes a category axis by category index", () => {
    expect(ids(brushedRows(rows, axes, { "params.optim": [[0.6, 1.2]] }))).toEqual(["b", "d"]);
  });

  it("ignores brushes of axes no longer shown", () => {
    expect(ids(brushedRows(rows, axes.slice(0, 1), { "metrics.val_acc": [[0.6, 1]] }))).toHaveLength(4);
  });
});

describe("withBrush", () => {
  it("sets an axis' intervals in order and drops an axis cleared", () => {
    const set = withBrush({}, "metrics.val_acc", [[1, 0.5]]);
    expect(set).toEqual({ "metrics.val_acc": [[0.5, 1]] });
    expect(withBrush(set, "metrics.val_acc", [])).toEqual({});
  });
});

describe("brushExpression", () => {
  it("writes the brushes in the runs list's filter language", () => {
    expect(brushExpression(axes, {})).toBe("");
    expect(brushExpression(axes, { "metrics.val_acc": [[0.612345, 0.987654]], "params.optim": [[0.5, 1.5]] })).toBe(
      "params.optim = 'sgd' and metrics.val_acc >= 0.6123 and metrics.val_acc <= 0.9877",
    );
  });

  it("ors several intervals and categories", () => {
    expect(brushExpression(axes, { "params.optim": [[-0.5, 1.5]] })).toBe("((params.optim = 'adam') or (params.optim = 'sgd'))");
  });

  it("gives up on a category brush between categories", () => {
    expect(brushExpression(axes, { "params.optim": [[0.2, 0.8]] })).toBeNull();
  });

  it("matches what the rows filter selects", () => {
    const brushes = { "params.model.lr": [[0.00999, 0.2]] as [number, number][] };
    expect(ids(brushedRows(rows, axes, brushes))).toEqual(["a", "b", "d"]);
    expect(brushExpression(axes, brushes)).toMatch(/^params\.model\.lr >= 0\.0099\d* and params\.model\.lr <= 0\.2$/);
  });
});

describe("edge and fieldName", () => {
  it("rounds outwards to 4 significant digits", () => {
    expect(edge(1.00061, "down")).toBe("1");
    expect(edge(1.00061, "up")).toBe("1.001");
    expect(edge(-0.123456, "down")).toBe("-0.1235");
    expect(edge(0, "up")).toBe("0");
  });

  it("backquotes key segments the filter language cannot read plain", () => {
    expect(fieldName("metrics.val loss.min")).toBe("metrics.`val loss`.min");
    expect(fieldName("params.model.lr")).toBe("params.model.lr");
  });
});
