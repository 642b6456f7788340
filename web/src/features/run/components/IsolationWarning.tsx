/** Said on every page of a run whose worker does not isolate runs (RUNYARD_WORKER_ISOLATION=none). */
export function IsolationWarning({ isolation }: { isolation?: string | null }) {
  if (isolation !== "none") return null;
  return (
    <div className="banner banner-danger" role="alert" data-testid="not-isolated">
      This run is not isolated: its worker runs with RUNYARD_WORKER_ISOLATION=none, so its code
      could read other runs' files and the worker's credentials. Ask the operator to turn the
      sandbox back on before running code you do not trust.
    </div>
  );
}
