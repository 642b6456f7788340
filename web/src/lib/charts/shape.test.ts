import {
  alignSeries,
  countNonFinite,
  finalValue,
  groupKeys,
  nonFiniteMarks,
  numeric,
  stepRange,
  type Point,
  type WireValue,
} from "./shape";

const p = (step: number, value: WireValue, epoch: number | null = null, wall = 1000 + step): Point => ({
  step,
  value,
  epoch,
  wall_time: wall,
});

describe("alignSeries", () => {
  it("turns one series into x and y columns on the chosen axis", () => {
    const points = [p(0, 1, 0), p(10, 2, 0), p(20, 3, 1)];
    expect(alignSeries([points], "step")).toEqual([[0, 10, 20], [1, 2, 3]]);
    expect(alignSeries([points], "wall_time")[0]).toEqual([1000, 1010, 1020]);
  });

  it("drops points without a value on the axis (no epoch logged)", () => {
    expect(alignSeries([[p(0, 1, null), p(5, 2, 3)]], "epoch")).toEqual([[3], [2]]);
  });

  it("merges several series on the union of their x values, with gaps as null", () => {
    const a = [p(0, 1), p(2, 3)];
    const b = [p(1, 10), p(2, 30)];
    expect(alignSeries([a, b], "step")).toEqual([
      [0, 1, 2],
      [1, null, 3],
      [null, 10, 30],
    ]);
  });

  it("keeps NaN-as-null values as gaps", () => {
    expect(alignSeries([[p(0, null), p(1, 2)]], "step")).toEqual([[0, 1], [null, 2]]);
  });
});

describe("groupKeys", () => {
  it("groups keys by train/val prefix, train first and unknown prefixes last", () => {
    expect(groupKeys(["val_loss", "lr", "train/loss", "train_acc", "val/acc"])).toEqual([
      { group: "train", keys: ["train/loss", "train_acc"] },
      { group: "val", keys: ["val/acc", "val_loss"] },
      { group: "other", keys: ["lr"] },
    ]);
  });
});

describe("stepRange", () => {
  it("maps a wall-time zoom window back to the steps inside it", () => {
    const points = [p(0, 1), p(10, 1), p(20, 1), p(30, 1)];
    expect(stepRange(points, "wall_time", 1005, 1025)).toEqual([10, 20]);
    expect(stepRange(points, "wall_time", 2000, 3000)).toBeNull();
  });
});

describe("finalValue", () => {
  it("is the last finite value", () => {
    expect(finalValue([p(0, 1), p(1, 2), p(2, null)])).toBe(2);
    expect(finalValue([])).toBeNull();
  });
});

describe("non-finite values", () => {
  const series = [p(0, 1), p(1, "NaN"), p(2, "Infinity"), p(3, "-Infinity"), p(4, 2), p(5, "NaN")];

  it("are gaps in the line, never zero or a number", () => {
    expect(alignSeries([series], "step")).toEqual([[0, 1, 2, 3, 4, 5], [1, null, null, null, 2, null]]);
    expect(numeric("Infinity")).toBeNull();
    expect(numeric(-0)).toBe(-0);
  });

  it("are marked each as what it is, at its x", () => {
    expect(nonFiniteMarks(series, "step")).toEqual([
      { x: 1, kind: "NaN" },
      { x: 2, kind: "+inf" },
      { x: 3, kind: "-inf" },
      { x: 5, kind: "NaN" },
    ]);
    expect(countNonFinite(series)).toEqual({ NaN: 2, "+inf": 1, "-inf": 1 });
  });

  it("are skipped by the final value", () => {
    expect(finalValue(series)).toBe(2);
  });
});
