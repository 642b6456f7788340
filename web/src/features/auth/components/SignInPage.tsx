import { useState, type FormEvent } from "react";
import { takeSignInNotice } from "@/lib/session";

export interface SignInPageProps {
  /** Checks the token against the server; resolves to an error message, or null when valid. */
  onSignIn: (token: string) => Promise<string | null>;
}

export function SignInPage({ onSignIn }: SignInPageProps) {
  const [token, setToken] = useState("");
  const [notice] = useState(() => takeSignInNotice());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(await onSignIn(token.trim()));
    setBusy(false);
  };

  return (
    <main className="signin">
      <h1>Runyard</h1>
      {notice && (
        <p className="status error" role="alert">
          {notice}
        </p>
      )}
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          placeholder="ry_user_…"
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <button type="submit" disabled={busy || !token.trim()}>
          Sign in
        </button>
        {error && (
          <p className="status error" role="alert">
            {error}
          </p>
        )}
        <p className="hint">
          The token is kept for this tab only. Create one with <code>runyard token create LABEL</code>{" "}
          (add <code>--expires 30d</code> for one that lapses), or use the admin token{" "}
          <code>runyard up</code> printed.
        </p>
      </form>
    </main>
  );
}
