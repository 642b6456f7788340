import { sortRows } from "./sortRows";

describe("sortRows", () => {
  const rows = [{ v: 10 }, { v: null }, { v: 2 }, { v: 33 }];

  it("sorts numbers numerically with missing values last", () => {
    expect(sortRows(rows, (r) => r.v, false).map((r) => r.v)).toEqual([2, 10, 33, null]);
    expect(sortRows(rows, (r) => r.v, true).map((r) => r.v)).toEqual([33, 10, 2, null]);
  });
});
