/** The three states every view has besides "here is your data". */
import type { ReactNode } from "react";

export function Loading({ what }: { what: string }) {
  return (
    <div className="status loading" role="status">
      Loading {what}…
    </div>
  );
}

export function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  return (
    <div className="status error" role="alert">
      {error.message}
      {retry && (
        <button type="button" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="status empty">{children}</div>;
}
