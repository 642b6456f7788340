/** The one configured API client. Its types come from the server's OpenAPI document
 * (`npm run gen:api`), so client and server never drift. */
import createClient, { type Middleware } from "openapi-fetch";
import { createContext, useContext } from "react";
import type { components, paths } from "./api-types";
import { apiErrorFrom, ApiError, fieldErrorsFrom, messageFrom } from "./errors";

export type Schemas = components["schemas"];

export interface ApiHooks {
  getToken: () => string | null;
  /** A 401: the token is wrong, expired or revoked; the app sends the user to sign-in. */
  onUnauthorized: (message: string) => void;
  /** Network reachability as seen by the last request (false: the server could not be reached). */
  onConnection: (online: boolean) => void;
}

export interface Api {
  client: ReturnType<typeof createClient<paths>>;
  /** A plain fetch through the same auth and error handling, for routes without a typed path
   * (streams, downloads) or not yet in the generated document. Throws ApiError when not ok. */
  request: (path: string, init?: RequestInit) => Promise<Response>;
  /** Downloads need the bearer header, so a plain link cannot work: fetch as a blob and save. */
  download: (path: string, filename: string) => Promise<void>;
  hooks: ApiHooks;
}

export function createApi(hooks: ApiHooks, baseUrl = globalThis.location?.origin ?? ""): Api {
  const withAuth = (headers: Headers) => {
    const token = hooks.getToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
  };

  const request = async (path: string, init: RequestInit = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    withAuth(headers);
    let response: Response;
    try {
      response = await fetch(baseUrl + path, { ...init, headers });
    } catch (error) {
      if ((error as Error).name !== "AbortError") hooks.onConnection(false);
      throw error;
    }
    hooks.onConnection(true);
    if (!response.ok) {
      const apiError = await apiErrorFrom(response);
      if (response.status === 401) hooks.onUnauthorized(apiError.message);
      throw apiError;
    }
    return response;
  };

  const middleware: Middleware = {
    onRequest({ request: req }) {
      withAuth(req.headers);
      return req;
    },
    async onResponse({ response }) {
      hooks.onConnection(true);
      if (response.status === 401) {
        const apiError = await apiErrorFrom(response.clone());
        hooks.onUnauthorized(apiError.message);
      }
      return response;
    },
    onError({ error }) {
      if ((error as Error).name !== "AbortError") hooks.onConnection(false);
    },
  };
  // Bound late so tests can stub globalThis.fetch after the client is created.
  const client = createClient<paths>({ baseUrl, fetch: (req) => globalThis.fetch(req) });
  client.use(middleware);

  return {
    client,
    request,
    download: async (path: string, filename: string) => {
      const blob = await (await request(path)).blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
    hooks,
  };
}

/** Unwrap an openapi-fetch result: the data, or an ApiError with the server's message. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data !== undefined && result.response.ok) return result.data;
  const status = result.response.status;
  const detail = (result.error as { detail?: unknown } | undefined)?.detail;
  throw new ApiError(status, messageFrom(status, result.error), fieldErrorsFrom(detail));
}

export const ApiContext = createContext<Api | null>(null);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error("useApi outside <ApiContext.Provider>: wrap the app in AppProviders");
  return api;
}
