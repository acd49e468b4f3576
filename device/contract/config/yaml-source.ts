/**
 * YAML text → data, keeping positions: a parse error and a schema problem both point at `file:line:col`.
 * Shared by the host (kiln.yml) and the device (the secondary config).
 */
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import type { Problem } from './issues.ts';
import { formatKeyPath, type ConfigLocation, type LocatedProblem } from './location.ts';

export interface YamlSource {
  file: string;
  doc: Document;
  lines: LineCounter;
  /** The document as plain data; an empty document is `{}`. */
  data: unknown;
}

/** Parses YAML text (duplicate keys are errors); `file` is how problems name it. */
export function parseYaml(file: string, text: string): { ok: true; source: YamlSource } | { ok: false; problem: LocatedProblem } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = yamlError.linePos?.[0];
    const message = `invalid YAML: ${firstLine(yamlError.message).replace(/ at line \d+, column \d+:?$/, '')}`;
    return { ok: false, problem: { location: { file, line: pos?.line, column: pos?.col, keyPath: '' }, message } };
  }
  return { ok: true, source: { file, doc, lines, data: doc.toJS() ?? {} } };
}

/** Where a schema problem is in the YAML: the bad key, or the deepest node of its path that exists. */
export function locateInYaml(source: YamlSource, problem: Problem): ConfigLocation {
  const { file, doc, lines } = source;
  const keyPath = formatKeyPath(problem.key ? [...problem.path, problem.key] : problem.path);
  // Walk down as far as the document goes; a missing key points at its parent mapping.
  let node: Node | null | undefined = doc.contents;
  let keyNode: Node | undefined;
  for (const part of problem.path) {
    const next: unknown = (node as { get?: (k: unknown, keep: boolean) => unknown } | null)?.get?.(part, true);
    if (!next) break;
    node = next as Node;
  }
  if (problem.key && isMap(node)) {
    const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === problem.key);
    if (pair && isPair(pair)) keyNode = pair.key as Node;
  }
  const offset = (keyNode ?? node)?.range?.[0];
  if (offset === undefined) return { file, keyPath };
  const { line, col } = lines.linePos(offset);
  return { file, line, column: col, keyPath };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
