/** The run page's query keys, in one place: the stream writes into the same entries. */
export const runKeys = {
  all: (runId: string) => ["run", runId] as const,
  detail: (runId: string) => ["run", runId, "detail"] as const,
  series: (runId: string) => ["run", runId, "series"] as const,
  window: (runId: string, key: string, start: number, end: number) => ["run", runId, "window", key, start, end] as const,
  logs: (runId: string) => ["run", runId, "logs"] as const,
  summary: (runId: string) => ["run", runId, "summary"] as const,
  checkpoints: (runId: string) => ["run", runId, "checkpoints"] as const,
  exports: (runId: string) => ["run", runId, "exports"] as const,
  artifacts: (runId: string) => ["run", runId, "artifacts"] as const,
};

export const projectsKey = ["projects"] as const;
