import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => {
  cleanup();
  sessionStorage.clear();
});

// jsdom has no layout; the virtual list measures its scroll box through these, so give
// elements a window-sized box (tests then see the first screenful of rows, as a user would).
for (const [name, value] of [["clientHeight", 600], ["clientWidth", 1000], ["offsetHeight", 600], ["offsetWidth", 1000]] as const) {
  Object.defineProperty(HTMLElement.prototype, name, { configurable: true, get: () => value });
}

// uPlot reads the device pixel ratio through matchMedia when it loads; jsdom has none.
if (!window.matchMedia) {
  window.matchMedia = ((query: string) => ({
    matches: false,
    media: query,
    onchange: null,
    addListener: () => undefined,
    removeListener: () => undefined,
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    dispatchEvent: () => false,
  })) as unknown as typeof window.matchMedia;
}
