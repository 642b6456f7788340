/** Sorting the comparison table: numbers numerically, missing values last either way. */
export type Cell = string | number | boolean | null | undefined;

export function sortRows<T>(rows: T[], cell: (row: T) => Cell, descending: boolean): T[] {
  return [...rows].sort((a, b) => {
    const x = cell(a);
    const y = cell(b);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return descending ? -order : order;
  });
}
