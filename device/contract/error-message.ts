/**
 * The one line a caught value gives a message: an Error's message, anything else as text. Shared by the init, its
 * stages and the host, so every "…: <reason>" reads the same.
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
