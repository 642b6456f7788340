/** Markdown to safe HTML: marked renders, DOMPurify removes scripts, event handlers and
 * javascript: links; links open in a new tab without access to this page. */
import DOMPurify from "dompurify";
import { marked } from "marked";

export function renderMarkdown(source: string): string {
  const html = marked.parse(source, { async: false, gfm: true, breaks: true });
  const clean = DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
  const template = document.createElement("template");
  template.innerHTML = clean;
  for (const link of template.content.querySelectorAll("a")) {
    link.setAttribute("target", "_blank");
    link.setAttribute("rel", "noopener noreferrer");
  }
  return template.innerHTML;
}
