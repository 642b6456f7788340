import { useState } from "react";
import { readChoice, saveChoice, type ThemeChoice } from "@/lib/theme";

/** System / light / dark, kept across visits. */
export function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>(readChoice);
  return (
    <select
      aria-label="Theme"
      className="theme-toggle"
      value={choice}
      onChange={(e) => {
        const next = e.target.value as ThemeChoice;
        setChoice(next);
        saveChoice(next);
      }}
    >
      <option value="system">system theme</option>
      <option value="light">light</option>
      <option value="dark">dark</option>
    </select>
  );
}
