/** Light or dark: the user's choice (kept in localStorage) or, until they choose, the system's
 * preference, followed live. The resolved theme is `data-theme` on <html>; styles.css keys
 * its colours on it, and charts read their colours from the CSS variables when they draw. */
import { useEffect, useState } from "react";

export type ThemeChoice = "system" | "light" | "dark";
export type Theme = "light" | "dark";

const KEY = "runyard.theme";
const EVENT = "runyard:theme";

export function readChoice(): ThemeChoice {
  try {
    const stored = globalThis.localStorage?.getItem(KEY);
    return stored === "light" || stored === "dark" ? stored : "system";
  } catch {
    return "system";
  }
}

function systemTheme(): Theme {
  return globalThis.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function resolve(choice: ThemeChoice): Theme {
  return choice === "system" ? systemTheme() : choice;
}

export function applyTheme(choice: ThemeChoice = readChoice()): Theme {
  const theme = resolve(choice);
  document.documentElement.dataset.theme = theme;
  globalThis.dispatchEvent?.(new CustomEvent(EVENT, { detail: theme }));
  return theme;
}

export function saveChoice(choice: ThemeChoice): Theme {
  try {
    if (choice === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    // Private mode without storage: the choice lasts for this page only.
  }
  return applyTheme(choice);
}

/** The theme in effect, re-rendering on a change (the toggle, or the system's while it rules). */
export function useTheme(): Theme {
  const [theme, setTheme] = useState<Theme>(() => (document.documentElement.dataset.theme as Theme) || resolve(readChoice()));
  useEffect(() => {
    const onChange = (e: Event) => setTheme((e as CustomEvent<Theme>).detail);
    globalThis.addEventListener(EVENT, onChange);
    const media = globalThis.matchMedia?.("(prefers-color-scheme: dark)");
    const onSystem = () => {
      if (readChoice() === "system") applyTheme("system");
    };
    media?.addEventListener?.("change", onSystem);
    return () => {
      globalThis.removeEventListener(EVENT, onChange);
      media?.removeEventListener?.("change", onSystem);
    };
  }, []);
  return theme;
}

/** A CSS variable's value now (charts draw on a canvas, which CSS cannot reach). */
export function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}
