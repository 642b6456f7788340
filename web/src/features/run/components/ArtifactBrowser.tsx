/** The run's artifact folder as a tree: directories fold, files show size and modified time,
 * download through the authenticated API, and small text, JSON, YAML, CSV and image files
 * preview in place. */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { Empty, ErrorBox, Loading } from "@/components/StatusViews";
import { useApi } from "@/lib/api";
import { formatBytes, formatTime } from "@/lib/format";
import { artifactFileUrl, fetchArtifacts, type ArtifactEntry } from "../api/run";
import { runKeys } from "../api/queries";

export function ArtifactBrowser({ runId, enabled, live }: { runId: string; enabled: boolean; live: boolean }) {
  const api = useApi();
  const tree = useQuery({
    queryKey: runKeys.artifacts(runId),
    queryFn: ({ signal }) => fetchArtifacts(api, runId, signal),
    enabled,
    // The stream does not announce files; a live run's folder is looked at now and then.
    refetchInterval: live ? 10_000 : false,
  });
  const [closed, setClosed] = useState<Set<string>>(new Set());
  const [selected, setSelected] = useState<ArtifactEntry | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const entries = tree.data?.entries ?? [];
  const visible = useMemo(
    () => entries.filter((e) => !ancestors(e.path).some((dir) => closed.has(dir))),
    [entries, closed],
  );
  const toggle = (dir: string) =>
    setClosed((old) => {
      const next = new Set(old);
      if (next.has(dir)) next.delete(dir);
      else next.add(dir);
      return next;
    });
  const save = (entry: ArtifactEntry) =>
    api.download(artifactFileUrl(runId, entry.path), entry.name).catch((err: Error) => setError(err));

  return (
    <section className="panel" data-testid="artifact-browser">
      <h2>Files</h2>
      {tree.error && <ErrorBox error={tree.error} retry={() => void tree.refetch()} />}
      {error && <ErrorBox error={error} />}
      {tree.isPending && enabled ? (
        <Loading what="files" />
      ) : !entries.length ? (
        <Empty>This run has stored no files yet.</Empty>
      ) : (
        <div className="artifact-layout">
          <table className="artifact-tree">
            <thead>
              <tr>
                <th>Name</th>
                <th>Size</th>
                <th>Modified</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {visible.map((entry) => (
                <tr key={entry.path} data-artifact={entry.path} aria-selected={selected?.path === entry.path}>
                  <td style={{ paddingLeft: `${0.5 + ancestors(entry.path).length * 1.1}rem` }}>
                    {entry.kind === "dir" ? (
                      <button type="button" className="link" aria-expanded={!closed.has(entry.path)} onClick={() => toggle(entry.path)}>
                        {closed.has(entry.path) ? "▸" : "▾"} {entry.name}/
                      </button>
                    ) : entry.preview ? (
                      <button type="button" className="link" onClick={() => setSelected(entry)}>
                        {entry.name}
                      </button>
                    ) : (
                      <span>{entry.name}</span>
                    )}
                  </td>
                  <td>{entry.kind === "file" ? formatBytes(entry.size) : ""}</td>
                  <td>{formatTime(entry.modified)}</td>
                  <td>
                    {entry.kind === "file" && (
                      <button type="button" onClick={() => void save(entry)} aria-label={`Download ${entry.path}`}>
                        Download
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {selected && <Preview runId={runId} entry={selected} onClose={() => setSelected(null)} />}
        </div>
      )}
    </section>
  );
}

function ancestors(path: string): string[] {
  const parts = path.split("/");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

function Preview({ runId, entry, onClose }: { runId: string; entry: ArtifactEntry; onClose: () => void }) {
  const api = useApi();
  const content = useQuery({
    queryKey: [...runKeys.artifacts(runId), "preview", entry.path, entry.modified],
    queryFn: async ({ signal }) => {
      const response = await api.request(artifactFileUrl(runId, entry.path, true), { signal });
      if (entry.preview === "image") return { image: URL.createObjectURL(await response.blob()) };
      return { text: prettyText(entry.name, await response.text()) };
    },
    staleTime: Infinity,
  });
  const image = content.data?.image;
  useEffect(() => () => (image ? URL.revokeObjectURL(image) : undefined), [image]);
  return (
    <aside className="artifact-preview" data-testid="artifact-preview" aria-label={`Preview of ${entry.path}`}>
      <header className="panel-head">
        <strong>{entry.path}</strong>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </header>
      {content.error && <ErrorBox error={content.error} />}
      {content.isPending ? (
        <Loading what="preview" />
      ) : image ? (
        <img src={image} alt={entry.name} />
      ) : (
        <pre className="artifact-text">{content.data?.text}</pre>
      )}
    </aside>
  );
}

/** JSON is shown indented; everything else as it is. */
function prettyText(name: string, text: string): string {
  if (!name.toLowerCase().endsWith(".json")) return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
