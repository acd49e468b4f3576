/**
 * One line for a failed `fetch`: Node's own message is only "fetch failed"; the cause says what happened
 * (ECONNREFUSED, ENOTFOUND, a TLS error). Shared by the device's pulls and healthchecks and the host's registry
 * client.
 */
export function describeFetchError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
