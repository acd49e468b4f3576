/** The management API's bearer token check: constant time in the token's content, so timing tells nothing of it. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** True when the Authorization header carries exactly `Bearer <token>`. Both sides are hashed first, so the
 * comparison has one length whatever was sent. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const sent = /^Bearer ([\x21-\x7e]+)$/.exec(header ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(sent), digest(token)) && sent.length > 0 && token.length > 0;
}
