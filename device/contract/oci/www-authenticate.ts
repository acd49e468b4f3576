/**
 * The `WWW-Authenticate` challenge of a registry's 401 (RFC 7235 auth-params), as the distribution token
 * flow uses it: `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`.
 * Pure.
 */
export interface Challenge {
  /** Lowercased: "bearer", "basic". */
  scheme: string;
  /** Parameter names lowercased; values unquoted. */
  params: Record<string, string>;
}

/**
 * Decodes the first challenge of a header value; undefined when there is none.
 * @example parseChallenge('Bearer realm="https://a/token",service="r"') // { scheme: 'bearer', params: { realm: 'https://a/token', service: 'r' } }
 */
export function parseChallenge(header: string): Challenge | undefined {
  const head = /^\s*([A-Za-z][\w!#$%&'*+.^`|~-]*)\s*/.exec(header);
  if (!head) return undefined;
  const params: Record<string, string> = {};
  let rest = header.slice(head[0].length);
  // name=token or name="quoted \" string", separated by commas; stop at anything else (a second challenge).
  const param = /^([\w!#$%&'*+.^`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,\s*|$)/;
  for (let m = param.exec(rest); m; m = param.exec(rest)) {
    params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
    rest = rest.slice(m[0].length);
  }
  return { scheme: head[1].toLowerCase(), params };
}

/** The token endpoint URL for a Bearer challenge: realm with service and scope as query parameters. */
export function tokenUrl(challenge: Challenge, fallbackScope: string): URL {
  const url = new URL(challenge.params.realm);
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  url.searchParams.set('scope', challenge.params.scope || fallbackScope);
  return url;
}
