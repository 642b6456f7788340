import { axisOf, cellOf, columnsOf, metricColumn, paramColumn, parallelData, scatterData, varyingParams, type CompareRow } from "./columns";

const row = (id: string, params: Record<string, unknown>, metrics: Record<string, [number | string, number | string, number | string]>): CompareRow =>
  ({
    id,
    experiment_id: "e",
    experiment_name: "sweep",
    state: "completed",
    trial_index: 0,
    created_at: "2026-01-01T00:00:00Z",
    params,
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, [last, min, max]]) => [k, { last, min, max, last_step: 9 }])),
  }) as CompareRow;

const rows = [
  row("a", { lr: 0.1, optim: "adam", seed: 1, layers: [64, 64] }, { acc: [0.9, 0.1, 0.95] }),
  row("b", { lr: 0.01, optim: "sgd", seed: 1, flag: true }, { acc: ["NaN", 0.2, 0.8] }),
  row("c", { lr: "auto", optim: "adam", seed: 1 }, {}),
];

describe("columnsOf", () => {
  it("lists params, then each metric's last, min and max under the runs list's names", () => {
    expect(columnsOf({ param_keys: ["lr"], metric_keys: ["acc"] }).map((c) => c.id)).toEqual([
      "params.lr",
      "metrics.acc",
      "metrics.acc.min",
      "metrics.acc.max",
    ]);
  });
});

describe("cellOf", () => {
  it("keeps numbers, turns booleans and lists into text, and non-finite or absent metrics into null", () => {
    expect(cellOf(rows[0], paramColumn("lr"))).toBe(0.1);
    expect(cellOf(rows[0], paramColumn("layers"))).toBe("[64,64]");
    expect(cellOf(rows[1], paramColumn("flag"))).toBe("true");
    expect(cellOf(rows[1], metricColumn("acc"))).toBeNull();
    expect(cellOf(rows[1], metricColumn("acc", "max"))).toBe(0.8);
    expect(cellOf(rows[2], metricColumn("acc"))).toBeNull();
  });
});

describe("axisOf", () => {
  it("is a number axis over the range when every value is a number", () => {
    expect(axisOf(rows.slice(0, 2), paramColumn("lr"))).toMatchObject({ type: "value", min: 0.01, max: 0.1 });
  });

  it("is a category axis, sorted, as soon as one value is text", () => {
    expect(axisOf(rows, paramColumn("lr"))).toMatchObject({ type: "category", categories: ["0.01", "0.1", "auto"] });
  });
});

describe("parallelData", () => {
  it("places each run on every axis: numbers as they are, categories by index, gaps as null", () => {
    const { axes, data } = parallelData(rows, [paramColumn("optim"), metricColumn("acc")]);
    expect(axes.map((a) => a.type)).toEqual(["category", "value"]);
    expect(data).toEqual([
      [0, 0.9],
      [1, null],
      [0, null],
    ]);
  });
});

describe("varyingParams", () => {
  it("leaves out params every run shares", () => {
    expect(varyingParams(rows, ["flag", "lr", "optim", "seed"])).toEqual(["flag", "lr", "optim"]);
    expect(varyingParams(rows, ["flag", "lr", "optim"], 2)).toEqual(["flag", "lr"]);
  });
});

describe("scatterData", () => {
  it("keeps runs with a value on both columns, with their row index", () => {
    const x = axisOf(rows, paramColumn("optim"));
    const y = axisOf(rows, metricColumn("acc", "max"));
    expect(scatterData(rows, x, y)).toEqual([
      [0, 0.95, 0],
      [1, 0.8, 1],
    ]);
  });
});
