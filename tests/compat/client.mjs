// Drives mcp-keybridge with the official TypeScript SDK client, as Claude Desktop does: the
// SDK's real `Client` over its real `StdioClientTransport`, which spawns the bridge and
// checks every result against the SDK's schemas.
//
//   node client.mjs SCENARIO BRIDGE_BIN [BRIDGE_ARGS...]
//
// SCENARIO:
//   seed         the seed-style server (tests/compat/seed_server.py): initialize, list and call
//                tools, list resources; the bridge must have logged its null fixes.
//   sdk          the official Python SDK server (tests/interop/sdk_server.py): the same, plus
//                resources; the bearer token must have reached the server.
//   seed-strict  the seed-style server with --strict: the SDK must REJECT the initialize
//                result (capabilities.logging: null); passing would mean the test proves nothing.
// Exit 0 on the expected outcome, 1 otherwise (with the reason and the bridge's stderr).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import assert from 'node:assert/strict';

const [scenario, bin, ...bridgeArgs] = process.argv.slice(2);
if (!['seed', 'sdk', 'seed-strict'].includes(scenario) || !bin) {
  console.error('usage: node client.mjs seed|sdk|seed-strict BRIDGE_BIN [BRIDGE_ARGS...]');
  process.exit(2);
}
// Every request gets a bound, so a bridge that never answers fails the test instead of hanging.
const REQUEST = { timeout: 15000 };

const transport = new StdioClientTransport({
  command: bin,
  args: ['--log-level', 'info', ...bridgeArgs],
  stderr: 'pipe',
});
let stderr = '';
transport.stderr?.on('data', (chunk) => {
  stderr += chunk;
});
const client = new Client({ name: 'keybridge-compat', version: '0.0.0' });
// Messages the SDK could not parse or match (e.g. a relayed reply to a notification, which has
// `"id": null`) land here rather than failing a request: they must not happen at all.
const protocolErrors = [];
client.onerror = (e) => protocolErrors.push(String(e?.message ?? e));

async function run() {
  if (scenario === 'seed-strict') {
    let error;
    try {
      await client.connect(transport, REQUEST);
    } catch (e) {
      error = e;
    }
    assert.ok(error, 'with --strict the SDK accepted the seed-style initialize result');
    // The rejection must be the schema's, about the field the bridge would have fixed.
    assert.match(String(error?.message), /logging/, `unexpected failure: ${error?.stack}`);
    return `--strict: the SDK rejected the initialize result as expected (${oneLine(error.message)})`;
  }

  await client.connect(transport, REQUEST);
  const info = client.getServerVersion();
  const caps = client.getServerCapabilities();
  assert.ok(info?.name, 'no serverInfo.name');
  assert.ok(caps?.tools, `no tools capability: ${JSON.stringify(caps)}`);

  const { tools } = await client.listTools(undefined, REQUEST);
  const names = tools.map((t) => t.name);
  for (const want of ['echo', 'add']) assert.ok(names.includes(want), `no ${want} tool: ${names}`);

  const text = 'héllo 👋 "quoted" null';
  const echoed = await client.callTool({ name: 'echo', arguments: { text } }, undefined, REQUEST);
  assert.equal(echoed.isError ?? false, false, JSON.stringify(echoed));
  assert.equal(echoed.content[0].type, 'text');
  assert.equal(echoed.content[0].text, text);

  const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } }, undefined, REQUEST);
  assert.equal(sum.content[0].text, '42', JSON.stringify(sum));

  const done = [`${info.name}: initialize`, `tools/list (${names.length})`, 'tools/call echo+add'];
  if (caps.resources) {
    const { resources } = await client.listResources(undefined, REQUEST);
    assert.ok(resources.length > 0, 'resources/list is empty');
    done.push(`resources/list (${resources.length})`);
  }
  if (caps.prompts) {
    const { prompts } = await client.listPrompts(undefined, REQUEST);
    done.push(`prompts/list (${prompts.length})`);
  }

  if (scenario === 'seed') {
    const auth = await client.callTool({ name: 'auth_source', arguments: {} }, undefined, REQUEST);
    assert.equal(auth.content[0].text, 'bearer', 'the bearer token did not reach the server');
    for (const fix of [
      'initialize result.capabilities.logging',
      'tools/list result.tools[].annotations',
      'tools/call result.content[](text).annotations',
      'resources/list result.resources[].description',
    ]) {
      assert.ok(stderr.includes(`normalised ${fix}: null → absent`), `bridge did not log ${fix}`);
    }
    done.push('auth_source=bearer', 'fixes logged');
  } else {
    // sdk_server.py's get_header tool: proves the token from --bearer reached the server.
    const header = await client.callTool(
      { name: 'get_header', arguments: { name: 'authorization' } },
      undefined,
      REQUEST,
    );
    assert.match(header.content[0].text, /^Bearer \S+$/, 'no bearer token reached the server');
    assert.ok(!stderr.includes('normalised'), 'a conformant server needed fixes?');
    done.push('bearer reached the server', 'no fixes needed');
  }
  assert.deepEqual(protocolErrors, [], 'the SDK saw messages it could not handle');
  done.push('no protocol errors');
  return done.join(', ');
}

const oneLine = (s) => String(s).replace(/\s+/g, ' ').slice(0, 200);

try {
  const summary = await run();
  console.log(`ok   ${scenario}: ${summary}`);
  await client.close();
  process.exit(0);
} catch (e) {
  console.error(`FAIL ${scenario}: ${e?.stack ?? e}`);
  console.error(`--- bridge stderr ---\n${stderr}`);
  await client.close().catch(() => {});
  process.exit(1);
}
