/** The JSON Schema of kiln.yml, generated from the one zod schema (shipped as schema/kiln.schema.json). */
import { z } from 'zod';
import { configSchema } from './schema.js';

export function jsonSchema(): Record<string, unknown> {
  // "input" describes what users write: fields with defaults are optional.
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { title: 'kiln device config', ...schema };
}
