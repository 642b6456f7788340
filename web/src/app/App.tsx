/** The shell: session, API client, connection banner and routes. The features are composed
 * here and only here; they never import each other. */
import { useCallback, useEffect, useMemo, useState } from "react";
import { HashRouter, Navigate, NavLink, Route, Routes } from "react-router-dom";
import { fetchMe, type Me } from "@/features/auth/api/me";
import { SignInPage } from "@/features/auth/components/SignInPage";
import { ClusterPage } from "@/features/cluster/components/ClusterPage";
import { ComparePage } from "@/features/compare/components/ComparePage";
import { RunPage } from "@/features/run/components/RunPage";
import { RunsPage } from "@/features/runs/components/RunsPage";
import { SubmitPage } from "@/features/submit/components/SubmitPage";
import { ApiContext, createApi } from "@/lib/api";
import { CurrentUserContext } from "@/lib/currentUser";
import { QueryProvider } from "@/lib/queryClient";
import { clearToken, readToken, saveToken } from "@/lib/session";
import { ConnectionBanner } from "./ConnectionBanner";
import { ThemeToggle } from "./ThemeToggle";

export function App() {
  const [token, setToken] = useState<string | null>(() => readToken());
  const [me, setMe] = useState<Me | null>(null);
  const [online, setOnline] = useState(true);

  const signOut = useCallback((notice?: string) => {
    clearToken(notice);
    setToken(null);
    setMe(null);
  }, []);

  const api = useMemo(
    () =>
      createApi({
        getToken: readToken,
        onUnauthorized: (message) => signOut(`You were signed out: ${message}. Sign in with a valid token.`),
        onConnection: setOnline,
      }),
    [signOut],
  );

  useEffect(() => {
    if (!token || me) return;
    fetchMe(api)
      .then(setMe)
      .catch(() => {
        // A 401 already signed out with its message; other errors show the banner and retry.
      });
  }, [api, token, me]);

  // While the server is unreachable, keep knocking so the banner clears by itself on recovery.
  useEffect(() => {
    if (online) return;
    const timer = setInterval(() => {
      fetch("/healthz").then(
        () => setOnline(true),
        () => undefined,
      );
    }, 2000);
    return () => clearInterval(timer);
  }, [online]);

  const signIn = async (candidate: string): Promise<string | null> => {
    saveToken(candidate);
    try {
      const user = await fetchMe(api);
      setToken(candidate);
      setMe(user);
      return null;
    } catch (err) {
      clearToken();
      return (err as Error).message;
    }
  };

  return (
    <QueryProvider>
    <ApiContext.Provider value={api}>
      <CurrentUserContext.Provider value={me}>
        <ConnectionBanner online={online} />
        <HashRouter>
          {!token ? (
            <>
              <div className="signin-theme">
                <ThemeToggle />
              </div>
              <SignInPage onSignIn={signIn} />
            </>
          ) : (
            <>
              <nav className="topnav">
                <strong>Runyard</strong>
                <NavLink to="/runs">Runs</NavLink>
                <NavLink to="/compare">Compare</NavLink>
                <NavLink to="/cluster">Cluster</NavLink>
                <NavLink to="/submit">Submit</NavLink>
                <span className="spacer" />
                <span className="hint">{me?.email}</span>
                <ThemeToggle />
                <button type="button" onClick={() => signOut()}>
                  Sign out
                </button>
              </nav>
              <main className="content">
                <Routes>
                  <Route path="/" element={<Navigate to="/runs" replace />} />
                  <Route path="/runs" element={<RunsPage />} />
                  <Route path="/runs/:runId" element={<RunPage />} />
                  <Route path="/compare" element={<ComparePage />} />
                  <Route path="/cluster" element={<ClusterPage />} />
                  <Route path="/submit" element={<SubmitPage />} />
                  <Route path="*" element={<p>Page not found. <NavLink to="/runs">Back to runs</NavLink></p>} />
                </Routes>
              </main>
            </>
          )}
        </HashRouter>
      </CurrentUserContext.Provider>
    </ApiContext.Provider>
    </QueryProvider>
  );
}
