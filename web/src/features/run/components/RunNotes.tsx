/** The run's own tags and Markdown notes, editable by members of its project. */
import { useState } from "react";
import { renderMarkdown } from "@/lib/markdown";
import { updateRun, type RunDetail } from "../api/run";
import { useApi } from "@/lib/api";

export function RunNotes({ run, mayEdit, onSaved }: { run: RunDetail; mayEdit: boolean; onSaved: (run: RunDetail) => void }) {
  const api = useApi();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(run.notes);
  const [newTag, setNewTag] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  const save = async (patch: { tags?: string[]; notes?: string }) => {
    setSaving(true);
    try {
      onSaved(await updateRun(api, run.id, patch));
      setError(null);
      return true;
    } catch (err) {
      setError((err as Error).message);
      return false;
    } finally {
      setSaving(false);
    }
  };
  const tags = run.tags ?? [];
  return (
    <section className="panel" data-testid="run-notes">
      <h2>Tags and notes</h2>
      <div className="tag-editor" aria-label="Tags">
        {run.experiment_tags.map((t) => (
          <span key={`e-${t}`} className="tag" title="the experiment's tag">
            {t}
          </span>
        ))}
        {tags.map((t) => (
          <span key={t} className="chip" data-tag={t}>
            {t}
            {mayEdit && (
              <button type="button" aria-label={`remove tag ${t}`} disabled={saving} onClick={() => save({ tags: tags.filter((x) => x !== t) })}>
                ×
              </button>
            )}
          </span>
        ))}
        {mayEdit && (
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              const tag = newTag.trim();
              if (tag && (await save({ tags: [...tags, tag] }))) setNewTag("");
            }}
          >
            <input aria-label="New tag" placeholder="add a tag" value={newTag} onChange={(e) => setNewTag(e.target.value)} />
            <button type="submit" disabled={saving}>
              Add tag
            </button>
          </form>
        )}
      </div>
      {editing ? (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            if (await save({ notes: draft })) setEditing(false);
          }}
        >
          <textarea aria-label="Notes (Markdown)" className="notes-editor" value={draft} onChange={(e) => setDraft(e.target.value)} />
          <div className="submit-actions">
            <button type="submit" className="primary" disabled={saving}>
              Save notes
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <>
          {run.notes ? (
            // Sanitised by DOMPurify in renderMarkdown.
            <div className="notes-view" data-testid="notes-view" dangerouslySetInnerHTML={{ __html: renderMarkdown(run.notes) }} />
          ) : (
            <p className="hint">No notes yet.</p>
          )}
          {mayEdit && (
            <button
              type="button"
              onClick={() => {
                setDraft(run.notes);
                setEditing(true);
              }}
            >
              Edit notes
            </button>
          )}
        </>
      )}
      {error && (
        <p className="field-error inline" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
