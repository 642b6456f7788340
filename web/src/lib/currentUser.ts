import { createContext, useContext } from "react";
import type { Schemas } from "./api";

/** The signed-in user, provided by the app shell after sign-in. */
export const CurrentUserContext = createContext<Schemas["UserPublic"] | null>(null);

export function useCurrentUser(): Schemas["UserPublic"] | null {
  return useContext(CurrentUserContext);
}
