/** The app's one TanStack Query client and its provider. Live views keep their cached data
 * fresh from the run's event stream, so nothing refetches on window focus; a view that needs
 * polling says so with its own refetchInterval. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState, type ReactNode } from "react";

export function createQueryClient(options: { retry?: number } = {}): QueryClient {
  return new QueryClient({
    defaultOptions: { queries: { retry: options.retry ?? 1, refetchOnWindowFocus: false } },
  });
}

export function QueryProvider({ client, children }: { client?: QueryClient; children: ReactNode }) {
  const [created] = useState(() => client ?? createQueryClient());
  return <QueryClientProvider client={created}>{children}</QueryClientProvider>;
}
