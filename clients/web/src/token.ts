/** Where the dashboard keeps the API token: this tab's session only, gone when the tab closes. */
const STORAGE_KEY = "taskqueue.token";

/** The API token the user gave in this tab, if any. */
export function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Keeps `token` for this tab (empty: forgets it). */
export function storeToken(token: string): void {
  if (token === "") sessionStorage.removeItem(STORAGE_KEY);
  else sessionStorage.setItem(STORAGE_KEY, token);
}
