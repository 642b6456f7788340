/** One error type for every failed API call, so components show one kind of message. */
export interface FieldError {
  /** Dotted path inside the submitted document, e.g. "resources.gpus_per_node". */
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly fieldErrors: FieldError[];

  constructor(status: number, message: string, fieldErrors: FieldError[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.fieldErrors = fieldErrors;
  }
}

interface ValidationItem {
  loc?: (string | number)[];
  msg?: string;
}

/** FastAPI validation errors locate a field as ["body", "resources", "gpus_per_node"]; the
 * leading "body" is the request, not part of the user's document. */
export function fieldErrorsFrom(detail: unknown): FieldError[] {
  if (!Array.isArray(detail)) return [];
  return (detail as ValidationItem[]).map((item) => {
    const loc = (item.loc ?? []).filter((part, i) => !(i === 0 && part === "body"));
    return { path: loc.join("."), message: item.msg ?? "invalid value" };
  });
}

export function messageFrom(status: number, body: unknown): string {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") return detail;
  const fields = fieldErrorsFrom(detail);
  if (fields.length) return fields.map((f) => `${f.path || "(document)"}: ${f.message}`).join("; ");
  return `request failed with HTTP ${status}`;
}

export async function apiErrorFrom(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's HTML error page, say): the status still tells the story.
  }
  const detail = (body as { detail?: unknown } | null)?.detail;
  return new ApiError(response.status, messageFrom(response.status, body), fieldErrorsFrom(detail));
}
