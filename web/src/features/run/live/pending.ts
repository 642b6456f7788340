/** Stream payloads that arrived while their query was loading its snapshot. TanStack Query
 * replaces a query's data when its fetch resolves, so a payload written into the cache during
 * the fetch would be lost; the query function folds these in before it returns instead. */
import type { QueryClient, QueryKey } from "@tanstack/react-query";
import type { LogLine } from "../api/run";
import type { StreamPoint, Transition } from "./merge";

export interface Pending {
  series: StreamPoint[];
  summary: StreamPoint[];
  logs: LogLine[];
  detail: Transition[];
}

export function newPending(): Pending {
  return { series: [], summary: [], logs: [], detail: [] };
}

export function clearPending(pending: Pending): void {
  pending.series.length = pending.summary.length = pending.logs.length = pending.detail.length = 0;
}

/** Write `items` into the cached data of `key` (if it has any) and, while that query is
 * still fetching or has not loaded, keep them for its query function too. */
export function feedQuery<D, T>(
  client: QueryClient,
  key: QueryKey,
  waiting: T[],
  items: T[],
  merge: (data: D, items: T[]) => D,
): void {
  if (!items.length) return;
  if (client.isFetching({ queryKey: key, exact: true }) > 0 || client.getQueryData(key) === undefined) {
    waiting.push(...items);
  }
  client.setQueryData<D>(key, (old) => (old === undefined ? old : merge(old, items)));
}

/** The snapshot with everything that arrived while it loaded. */
export function withPending<D, T>(data: D, waiting: T[], merge: (data: D, items: T[]) => D): D {
  return waiting.length ? merge(data, waiting.splice(0)) : data;
}
