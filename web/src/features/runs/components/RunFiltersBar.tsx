import { useEffect, useState } from "react";
import type { Directory, RunFilters, RunSort } from "../api/runs";
import { columnList, RUN_STATES } from "../api/runs";

export interface RunFiltersBarProps {
  filters: RunFilters;
  directory: Directory | undefined;
  onChange: (filters: RunFilters) => void;
  /** The server's 422 message about the filter expression, shown under the box. */
  filterError?: string | null;
  /** The server's 422 message about a column or the sort. */
  columnsError?: string | null;
}

const BUILTIN_SORTS = ["-created_at", "created_at", "-priority", "priority"];

export function RunFiltersBar({ filters, directory, onChange, filterError, columnsError }: RunFiltersBarProps) {
  const set = <K extends keyof RunFilters>(key: K, value: RunFilters[K]) => onChange({ ...filters, [key]: value });
  // The expression applies on Enter (or leaving the box), not on every keystroke.
  const [draft, setDraft] = useState(filters.filter);
  useEffect(() => setDraft(filters.filter), [filters.filter]);
  const [newColumn, setNewColumn] = useState("");
  const columns = columnList(filters);
  const apply = () => {
    if (draft !== filters.filter) set("filter", draft);
  };
  const addColumn = () => {
    const name = newColumn.trim();
    if (!name) return;
    const full = /^(metrics|params)\./.test(name) ? name : `metrics.${name}`;
    if (!columns.includes(full)) set("columns", [...columns, full].join(","));
    setNewColumn("");
  };
  const removeColumn = (name: string) => {
    const rest = columns.filter((c) => c !== name);
    const sortGone = filters.sort.replace(/^-/, "") === name;
    onChange({ ...filters, columns: rest.join(","), sort: sortGone ? "-created_at" : filters.sort });
  };
  return (
    <>
    <form
      className="filter-expr"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        apply();
      }}
    >
      <input
        aria-label="Filter expression"
        aria-invalid={filterError ? true : undefined}
        aria-describedby={filterError ? "filter-error" : undefined}
        placeholder="filter, e.g. metrics.val_acc > 0.9 and params.model.lr < 0.01"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={apply}
      />
      <button type="submit">Apply</button>
      {filters.filter && (
        <button type="button" onClick={() => onChange({ ...filters, filter: "" })}>
          Clear
        </button>
      )}
      {filterError && (
        <p id="filter-error" className="field-error inline" role="alert" data-testid="filter-error">
          {filterError}
        </p>
      )}
    </form>
    <div className="filters">
      <input
        aria-label="Search runs"
        placeholder="Search by name"
        value={filters.q}
        onChange={(e) => set("q", e.target.value)}
      />
      <select aria-label="State" value={filters.state} onChange={(e) => set("state", e.target.value as RunFilters["state"])}>
        <option value="">any state</option>
        {RUN_STATES.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
      <select aria-label="Project" value={filters.project_id} onChange={(e) => set("project_id", e.target.value)}>
        <option value="">all projects</option>
        {directory?.projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </select>
      <select aria-label="Owner" value={filters.owner_id} onChange={(e) => set("owner_id", e.target.value)}>
        <option value="">anyone</option>
        {Object.entries(directory?.people ?? {}).map(([id, email]) => (
          <option key={id} value={id}>
            {email}
          </option>
        ))}
      </select>
      <input aria-label="Tag" placeholder="tag" value={filters.tag} onChange={(e) => set("tag", e.target.value)} />
      <select aria-label="Sort" value={filters.sort} onChange={(e) => set("sort", e.target.value as RunSort)}>
        <option value="-created_at">newest first</option>
        <option value="created_at">oldest first</option>
        <option value="-priority">highest priority</option>
        <option value="priority">lowest priority</option>
        {!BUILTIN_SORTS.includes(filters.sort) && <option value={filters.sort}>{filters.sort}</option>}
      </select>
      <label className="check">
        <input
          type="checkbox"
          checked={filters.group === "experiment"}
          onChange={(e) => set("group", e.target.checked ? "experiment" : "")}
        />{" "}
        group by experiment
      </label>
    </div>
    <div className="columns-chooser" aria-label="Columns">
      {columns.map((c) => (
        <span key={c} className="chip" data-column-chip={c}>
          {c}{" "}
          <button type="button" aria-label={`remove column ${c}`} onClick={() => removeColumn(c)}>
            ×
          </button>
        </span>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          addColumn();
        }}
      >
        <input
          aria-label="Add column"
          placeholder="add column: val_acc, metrics.loss.min, params.model.lr"
          value={newColumn}
          onChange={(e) => setNewColumn(e.target.value)}
        />
        <button type="submit">Add column</button>
      </form>
      {columnsError && (
        <p className="field-error inline" role="alert" data-testid="columns-error">
          {columnsError}
        </p>
      )}
    </div>
    </>
  );
}
