// Checks every compatibility rule of mcp-keybridge (src/normalize/rules.rs) against the
// TypeScript SDK's own result schemas, using the fixture file the Rust unit tests share:
// for each listed path, the result with that key set to null must be REJECTED by the schema
// (so the fix is needed) and the result without the key ACCEPTED (so the fix is enough).
//
//   node schema-check.mjs        exit 0 when every rule holds; prints each failure otherwise
import { readFileSync } from 'node:fs';
import {
  InitializeResultSchema,
  ListToolsResultSchema,
  CallToolResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ReadResourceResultSchema,
  ListPromptsResultSchema,
  GetPromptResultSchema,
  JSONRPCMessageSchema,
} from '@modelcontextprotocol/sdk/types.js';

const SCHEMAS = {
  initialize: InitializeResultSchema,
  'tools/list': ListToolsResultSchema,
  'tools/call': CallToolResultSchema,
  'resources/list': ListResourcesResultSchema,
  'resources/templates/list': ListResourceTemplatesResultSchema,
  'resources/read': ReadResourceResultSchema,
  'prompts/list': ListPromptsResultSchema,
  'prompts/get': GetPromptResultSchema,
};

const fixtures = JSON.parse(
  readFileSync(new URL('./fixtures/null-fields.json', import.meta.url), 'utf8'),
);

function parentOf(value, path) {
  const parts = path.split('.');
  const last = parts.pop();
  let at = value;
  for (const p of parts) at = at[/^\d+$/.test(p) ? Number(p) : p];
  return [at, last];
}
const withNull = (result, path) => {
  const v = structuredClone(result);
  const [parent, key] = parentOf(v, path);
  parent[key] = null;
  return v;
};
const without = (result, path) => {
  const v = structuredClone(result);
  const [parent, key] = parentOf(v, path);
  delete parent[key];
  return v;
};

const failures = [];
let checked = 0;
for (const { method, result, nulls } of fixtures.cases) {
  const schema = SCHEMAS[method];
  if (!schema) throw new Error(`no schema for ${method}`);
  if (!schema.safeParse(result).success) failures.push(`${method}: the base result is invalid`);
  for (const path of nulls) {
    checked += 1;
    if (schema.safeParse(withNull(result, path)).success) {
      failures.push(`${method} ${path}: the SDK ACCEPTS null here, so the bridge must not touch it`);
    }
    if (!schema.safeParse(without(result, path)).success) {
      failures.push(`${method} ${path}: the SDK rejects the result even without the key`);
    }
  }
}

// The envelope rules: `"error": null` beside a result, `"result": null` beside an error.
const envelope = [
  [{ jsonrpc: '2.0', id: 1, result: {}, error: null }, { jsonrpc: '2.0', id: 1, result: {} }],
  [
    { jsonrpc: '2.0', id: 1, result: null, error: { code: 1, message: 'm' } },
    { jsonrpc: '2.0', id: 1, error: { code: 1, message: 'm' } },
  ],
];
for (const [before, after] of envelope) {
  checked += 1;
  if (JSONRPCMessageSchema.safeParse(before).success) {
    failures.push(`envelope ${JSON.stringify(before)}: accepted as is`);
  }
  if (!JSONRPCMessageSchema.safeParse(after).success) {
    failures.push(`envelope ${JSON.stringify(after)}: rejected after the fix`);
  }
}

if (failures.length > 0) {
  console.error(failures.join('\n'));
  process.exit(1);
}
console.log(`schema-check: ${checked} rules hold against @modelcontextprotocol/sdk's schemas`);
