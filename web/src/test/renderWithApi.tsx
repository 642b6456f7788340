import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { ApiContext, createApi } from "@/lib/api";
import { CurrentUserContext } from "@/lib/currentUser";
import { createQueryClient, QueryProvider } from "@/lib/queryClient";
import type { Schemas } from "@/lib/api";

export const ME: Schemas["UserPublic"] = {
  id: "u-me",
  email: "me@example.test",
  name: "me",
  is_admin: false,
  is_active: true,
  created_at: "2024-01-01T00:00:00Z",
} as Schemas["UserPublic"];

/** Render a page inside the app's providers, at `path`, with fetch already stubbed. */
export function renderPage(element: ReactElement, { path = "/", route = "/" } = {}) {
  const hooks = { getToken: () => "ry_user_test", onUnauthorized: vi.fn(), onConnection: vi.fn() };
  const api = createApi(hooks);
  const queryClient = createQueryClient({ retry: 0 });
  const utils = render(
    <QueryProvider client={queryClient}>
    <ApiContext.Provider value={api}>
      <CurrentUserContext.Provider value={ME}>
        <MemoryRouter initialEntries={[path]}>
          <Routes>
            <Route path={route} element={element} />
            <Route path="*" element={<div data-testid="elsewhere" />} />
          </Routes>
        </MemoryRouter>
      </CurrentUserContext.Provider>
    </ApiContext.Provider>
    </QueryProvider>,
  );
  return { ...utils, hooks, queryClient };
}
