import { useMemo, useState, type ChangeEvent } from "react";
import { useNavigate } from "react-router-dom";
import { ErrorBox } from "@/components/StatusViews";
import { useApi } from "@/lib/api";
import { ApiError, type FieldError } from "@/lib/errors";
import { exampleSpec, submitSpec, validateSpec, type Plan } from "../api/submit";
import { locateField } from "../hooks/locateField";

export function SubmitPage() {
  const api = useApi();
  const navigate = useNavigate();
  const [text, setText] = useState("");
  const [fieldErrors, setFieldErrors] = useState<FieldError[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [plan, setPlan] = useState<Plan | null>(null);

  const located = useMemo(
    () => fieldErrors.map((e) => ({ ...e, line: e.path ? locateField(text, e.path) : null })),
    [fieldErrors, text],
  );
  const byLine = useMemo(() => {
    const map = new Map<number, FieldError[]>();
    for (const e of located) if (e.line !== null) map.set(e.line, [...(map.get(e.line) ?? []), e]);
    return map;
  }, [located]);

  const upload = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file) setText(await file.text());
  };

  const attempt = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setFieldErrors([]);
    setPlan(null);
    try {
      await action();
    } catch (err) {
      if (err instanceof ApiError && err.fieldErrors.length) setFieldErrors(err.fieldErrors);
      else setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const submit = () =>
    attempt(async () => {
      const experiment = await submitSpec(api, text);
      const runs = experiment.run_ids;
      navigate(runs.length === 1 ? `/runs/${runs[0]}` : `/runs?q=${encodeURIComponent(experiment.name)}`);
    });

  const validate = () => attempt(async () => setPlan(await validateSpec(api, text)));

  return (
    <section>
      <header className="page-head">
        <h1>Submit an experiment</h1>
      </header>
      <p className="hint">
        Paste a spec (YAML or JSON) or upload a file. The server validates it; problems show next to
        the field.
      </p>
      <div className="submit-tools">
        <label className="button">
          Upload spec
          <input type="file" accept=".yaml,.yml,.json" onChange={upload} hidden aria-label="Upload spec" />
        </label>
        <button type="button" onClick={async () => setText(await exampleSpec(api))}>
          Insert an example
        </button>
      </div>
      <textarea
        aria-label="Spec"
        className="spec-editor"
        spellCheck={false}
        rows={18}
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <div className="submit-actions">
        <button type="button" onClick={validate} disabled={busy || !text.trim()}>
          Validate
        </button>
        <button type="button" className="primary" onClick={submit} disabled={busy || !text.trim()}>
          {busy ? "Working…" : "Validate and submit"}
        </button>
      </div>
      {plan && (
        <div className="plan" role="status" aria-label="Validation result">
          <h2>
            Valid: {plan.trials.length === 1 ? "1 run" : `${plan.trials.length} runs`} in project {plan.project},{" "}
            {plan.resources_summary} each
          </h2>
          {plan.trials.some((t) => Object.keys(t.params).length) && (
            <ul>
              {plan.trials.map((t) => (
                <li key={t.index}>
                  trial {t.index}:{" "}
                  {Object.entries(t.params)
                    .map(([k, v]) => `${k}=${String(v)}`)
                    .join(", ")}
                </li>
              ))}
            </ul>
          )}
          {plan.notes.map((note, i) => (
            <p key={i} className="hint">
              {note}
            </p>
          ))}
          <p className="hint">Nothing was created.</p>
        </div>
      )}
      {error && <ErrorBox error={error} />}
      {located.length > 0 && (
        <div className="problems" role="alert" aria-label="Spec problems">
          <h2>{located.length === 1 ? "1 problem" : `${located.length} problems`}</h2>
          <ul>
            {located
              .filter((e) => e.line === null)
              .map((e, i) => (
                <li key={i} data-field={e.path}>
                  <code>{e.path || "(document)"}</code>: {e.message}
                </li>
              ))}
          </ul>
          <pre className="annotated">
            {text.split(/\r?\n/).map((line, i) => (
              <div key={i} className={byLine.has(i) ? "bad-line" : undefined}>
                <span className="lineno">{i + 1}</span> {line}
                {byLine.get(i)?.map((e, j) => (
                  <div key={j} className="field-error" data-field={e.path}>
                    ↑ <code>{e.path}</code>: {e.message}
                  </div>
                ))}
              </div>
            ))}
          </pre>
        </div>
      )}
    </section>
  );
}
