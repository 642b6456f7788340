/** The log tail: a snapshot read page by page with the REST cursor (`after` = last id held),
 * then the stream's lines (written into the same cache entry by useRunLive). Without a stream
 * a poll continues from the last line held, so no line is fetched twice. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useApi } from "@/lib/api";
import { fetchLogs } from "../api/run";
import { runKeys } from "../api/queries";
import { mergeLines, type LogData } from "../live/merge";
import { withPending, type Pending } from "../live/pending";

export function useLogTail(runId: string, options: { enabled: boolean; pending: Pending; pollMs: number | false }) {
  const api = useApi();
  const client = useQueryClient();
  const key = runKeys.logs(runId);
  const query = useQuery({
    queryKey: key,
    queryFn: async ({ signal }) => {
      let data: LogData = client.getQueryData<LogData>(key) ?? { lines: [] };
      for (;;) {
        const after = data.lines.length ? data.lines[data.lines.length - 1].id : null;
        const page = await fetchLogs(api, runId, after, signal);
        data = mergeLines(data, page.lines);
        if (page.next_after === null || !page.lines.length) break;
      }
      return withPending(data, options.pending.logs, mergeLines);
    },
    enabled: options.enabled,
    staleTime: Infinity,
    refetchInterval: options.pollMs,
  });
  return { lines: query.data?.lines ?? [], error: query.error, loading: query.isPending };
}
