/** Where the API token lives: session storage, so it dies with the tab and never persists. */
const TOKEN_KEY = "runyard.token";
const NOTICE_KEY = "runyard.signin-notice";

export function readToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.removeItem(NOTICE_KEY);
}

/** Forget the token, leaving a message for the sign-in page to show (why the user is back). */
export function clearToken(notice?: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  if (notice) sessionStorage.setItem(NOTICE_KEY, notice);
}

export function takeSignInNotice(): string | null {
  const notice = sessionStorage.getItem(NOTICE_KEY);
  sessionStorage.removeItem(NOTICE_KEY);
  return notice;
}
