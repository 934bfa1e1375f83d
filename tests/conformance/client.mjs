#!/usr/bin/env node
// The "client under test" for the official MCP conformance suite (client role), as a PAIR:
// a real stdio MCP client (TypeScript SDK) that spawns mcp-keybridge, which talks to the
// scenario's HTTP server.
//
//   conformance client --command "node client.mjs --era modern" ...   runs:
//   node client.mjs --era modern <scenario-url>
//
// Environment (set by the conformance runner):
//   MCP_CONFORMANCE_SCENARIO   scenario name (e.g. tools_call, auth/pre-registration)
//   MCP_CONFORMANCE_CONTEXT    JSON with scenario data (pre-registered client, tool calls, ...)
//   MCP_CONFORMANCE_PROTOCOL_VERSION  the wire revision the scenario server speaks (info only:
//                              the client era is ours to choose, the bridge must cope)
// Environment (set by run.sh, all optional):
//   KEYBRIDGE_CLIENT_ERA       modern | legacy (overridden by --era)
//   MCP_KEYBRIDGE_BIN          bridge binary [default: <repo>/target/debug/mcp-keybridge]
//   KEYBRIDGE_CONF_WORK        where per-scenario throwaway dirs and logs go [default: ./results/work]
//   KEYBRIDGE_CONF_REQUEST_TIMEOUT_MS  per-request timeout in the MCP client [default: 20000]
//   KEYBRIDGE_CONF_RELAY       mcp-keybridge (default) | mcp-remote: which stdio relay the client
//                              spawns. mcp-remote (the Node bridge, for comparison) runs as
//                              `node <proxy.js> <url> --debug --auth-timeout 25 …` with the scenario
//                              context mapped to mcp-remote's own options (the KEYBRIDGE_CONF_RELAY=mcp-remote section below);
//                              everything else (client, handlers, HOME, $BROWSER) is the same
//   KEYBRIDGE_CONF_MCP_REMOTE  mcp-remote's entry point
//                              [default: <repo>/bench/.tools/npm/node_modules/mcp-remote/dist/proxy.js]
//
// Per scenario this does what the official reference client
// (conformance examples/clients/typescript/everything-client.ts, and the TypeScript SDK's
// test/conformance/src/everythingClient.ts) does, through the SDK's StdioClientTransport.
// OAuth is not done here: the bridge signs in itself, opening $BROWSER (browser.sh, which
// follows the auto-approving authorize redirect with curl to the bridge's loopback callback).

import { mkdirSync, mkdtempSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

// ---------------------------------------------------------------------------
// Arguments and environment
// ---------------------------------------------------------------------------

const argv = process.argv.slice(2);
let era = process.env.KEYBRIDGE_CLIENT_ERA || '';
const positional = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--era') era = argv[++i] ?? '';
  else if (a.startsWith('--era=')) era = a.slice('--era='.length);
  else positional.push(a);
}
const serverUrl = positional[positional.length - 1];
const scenario = process.env.MCP_CONFORMANCE_SCENARIO;

function die(msg) {
  console.error(`client.mjs: ${msg}`);
  process.exit(2);
}

if (era !== 'modern' && era !== 'legacy') die(`--era must be modern or legacy (got '${era}')`);
if (!serverUrl || !scenario) die('usage: MCP_CONFORMANCE_SCENARIO=<name> client.mjs --era modern|legacy <server-url>');

let ctx = {};
if (process.env.MCP_CONFORMANCE_CONTEXT) {
  try {
    ctx = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT);
  } catch (e) {
    die(`MCP_CONFORMANCE_CONTEXT is not JSON: ${e}`);
  }
}

const RELAY = process.env.KEYBRIDGE_CONF_RELAY || 'mcp-keybridge';
if (RELAY !== 'mcp-keybridge' && RELAY !== 'mcp-remote') die(`KEYBRIDGE_CONF_RELAY must be mcp-keybridge or mcp-remote (got '${RELAY}')`);
const BRIDGE = process.env.MCP_KEYBRIDGE_BIN || path.join(REPO, 'target', 'debug', 'mcp-keybridge');
if (RELAY === 'mcp-keybridge' && !existsSync(BRIDGE)) die(`bridge binary not found: ${BRIDGE} (build it, or set MCP_KEYBRIDGE_BIN)`);
const MCP_REMOTE =
  process.env.KEYBRIDGE_CONF_MCP_REMOTE ||
  path.join(REPO, 'bench', '.tools', 'npm', 'node_modules', 'mcp-remote', 'dist', 'proxy.js');
if (RELAY === 'mcp-remote' && !existsSync(MCP_REMOTE))
  die(`mcp-remote not found: ${MCP_REMOTE} (scripts/bench.sh installs it, or set KEYBRIDGE_CONF_MCP_REMOTE)`);
const REQUEST_TIMEOUT_MS = Number(process.env.KEYBRIDGE_CONF_REQUEST_TIMEOUT_MS || 20000);
const MODERN_VERSION = '2026-07-28';

// One throwaway directory per scenario run: HOME and XDG dirs (no token, registration or
// lock survives into another scenario), the bridge's debug log and the browser's log.
const WORK = path.resolve(process.env.KEYBRIDGE_CONF_WORK || path.join(HERE, 'results', 'work'));
mkdirSync(WORK, { recursive: true });
const runDir = mkdtempSync(path.join(WORK, `${era}-${scenario.replace(/[^A-Za-z0-9._-]/g, '_')}-`));
const home = path.join(runDir, 'home');
for (const d of ['home', 'config', 'data', 'cache', 'state', 'runtime']) {
  mkdirSync(path.join(runDir, d), { recursive: true, mode: 0o700 });
}
const bridgeLog = path.join(runDir, 'bridge.log');
const clientLog = path.join(runDir, 'client.log');

function log(...parts) {
  const line = `[${new Date().toISOString()}] ${parts
    .map((p) => (typeof p === 'string' ? p : JSON.stringify(p)))
    .join(' ')}`;
  appendFileSync(clientLog, line + '\n');
  console.error(line);
}

// ---------------------------------------------------------------------------
// The bridge's command line: context -> OAuth options
// ---------------------------------------------------------------------------

/** Client id the reference client offers as a Client ID Metadata Document URL. */
const CIMD_CLIENT_METADATA_URL = 'https://conformance-test.local/client-metadata.json';

const bridgeEnv = {};
const bridgeArgs = [serverUrl, '--log-level', 'debug', '--log-file', bridgeLog, '--auth-timeout', '25'];
// Extra bridge options for a whole cell (e.g. `--protocol modern`), split on spaces.
for (const a of (process.env.KEYBRIDGE_CONF_BRIDGE_ARGS ?? '').split(' ')) if (a) bridgeArgs.push(a);

if (scenario.startsWith('auth/')) {
  switch (scenario) {
    case 'auth/pre-registration':
      // Pre-registered confidential client (no registration endpoint advertised).
      bridgeArgs.push('--client-id', ctx.client_id, '--client-secret', 'env:KB_CONF_CLIENT_SECRET');
      bridgeEnv.KB_CONF_CLIENT_SECRET = ctx.client_secret;
      break;
    case 'auth/client-credentials-basic':
      // Machine-to-machine: client-credentials grant, client_secret_basic.
      bridgeArgs.push(
        '--client-id', ctx.client_id,
        '--client-secret', 'env:KB_CONF_CLIENT_SECRET',
        '--client-credentials'
      );
      bridgeEnv.KB_CONF_CLIENT_SECRET = ctx.client_secret;
      break;
    case 'auth/client-credentials-jwt':
      // Client-credentials grant with private_key_jwt: the PEM key through a reference
      // (the bridge takes the algorithm from the key and checks it against the metadata).
      bridgeArgs.push(
        '--client-id', ctx.client_id,
        '--client-key', 'env:KB_CONF_CLIENT_KEY',
        '--client-credentials'
      );
      bridgeEnv.KB_CONF_CLIENT_KEY = ctx.private_key_pem;
      break;
    case 'auth/wif-jwt-bearer':
      // Workload identity federation: the jwt-bearer grant with the platform's token, as a
      // CI job would read it from its environment (the valid one: the others are for the
      // suite's broken example clients).
      bridgeArgs.push('--client-id', ctx.client_id, '--workload-token', 'env:KB_CONF_WORKLOAD_TOKEN');
      bridgeEnv.KB_CONF_WORKLOAD_TOKEN = ctx.valid_jwt;
      break;
    case 'auth/enterprise-managed-authorization':
      // SEP-990: the user's ID token exchanged at the enterprise IdP for an ID-JAG, then the
      // jwt-bearer grant as the client registered with the MCP server's authorization server.
      bridgeArgs.push(
        '--client-id', ctx.client_id,
        '--client-secret', 'env:KB_CONF_CLIENT_SECRET',
        '--id-token', 'env:KB_CONF_ID_TOKEN',
        '--idp-token-endpoint', ctx.idp_token_endpoint,
        '--idp-client-id', ctx.idp_client_id
      );
      bridgeEnv.KB_CONF_CLIENT_SECRET = ctx.client_secret;
      bridgeEnv.KB_CONF_ID_TOKEN = ctx.idp_id_token;
      break;
    default:
      // Interactive sign-in. Like the reference client, offer a CIMD URL: used as the
      // client id when the AS advertises client_id_metadata_document_supported, else the
      // bridge registers dynamically.
      bridgeArgs.push('--client-metadata-url', CIMD_CLIENT_METADATA_URL);
  }
}

// ---------------------------------------------------------------------------
// KEYBRIDGE_CONF_RELAY=mcp-remote: the same context -> mcp-remote's own options
// ---------------------------------------------------------------------------

// Only options mcp-remote has. Where it has none for a scenario's mechanism (private_key_jwt,
// jwt-bearer workload tokens, enterprise ID-JAG, DPoP) it gets the nearest thing it does have
// (the client id/secret as static client information, else its default sign-in) and the
// scenario is run, not skipped: its failure is the result.
let relayCommand = BRIDGE;
let relayArgs = bridgeArgs;
if (RELAY === 'mcp-remote') {
  const mr = [MCP_REMOTE, serverUrl, '--debug', '--auth-timeout', '25'];
  // A 2026-07-28-only server needs mcp-remote's dual-era mode (its default, `legacy`,
  // forwards initialize as is); the runner says which revision the scenario server speaks.
  if (process.env.MCP_CONFORMANCE_PROTOCOL_VERSION === '2026-07-28') mr.push('--protocol', 'auto');
  for (const a of (process.env.KEYBRIDGE_CONF_BRIDGE_ARGS ?? '').split(' ')) if (a) mr.push(a);
  // Secrets through mcp-remote's ${ENV} expansion of --static-oauth-client-info, not argv.
  const staticInfo = (withSecret) =>
    JSON.stringify(withSecret ? { client_id: ctx.client_id, client_secret: '${KB_CONF_CLIENT_SECRET}' } : { client_id: ctx.client_id });
  switch (scenario) {
    case 'auth/pre-registration':
      mr.push('--static-oauth-client-info', staticInfo(true));
      break;
    case 'auth/client-credentials-basic':
      mr.push('--client-credentials', '--static-oauth-client-info', staticInfo(true));
      break;
    case 'auth/client-credentials-jwt':
      // mcp-remote cannot sign a client assertion (no key option): its client-credentials
      // grant with the client id alone is the closest it has.
      mr.push('--client-credentials', '--static-oauth-client-info', staticInfo(false));
      break;
    case 'auth/wif-jwt-bearer':
      // No jwt-bearer grant / workload token option: the client id, default (browser) sign-in.
      mr.push('--static-oauth-client-info', staticInfo(false));
      break;
    case 'auth/enterprise-managed-authorization':
      // No ID-token / IdP exchange option: the MCP AS client id/secret, default sign-in.
      mr.push('--static-oauth-client-info', staticInfo(true));
      break;
    default:
      // Interactive sign-in (auth/dpop* included: mcp-remote has no DPoP option). mcp-remote
      // also takes a CIMD URL (--client-metadata-url; DCR when the AS does not advertise CIMD).
      if (scenario.startsWith('auth/')) mr.push('--client-metadata-url', CIMD_CLIENT_METADATA_URL);
  }
  relayCommand = process.execPath;
  relayArgs = mr;
}

// What the bridge inherits: the runner's environment, with a fresh HOME/XDG, no keychain
// (no D-Bus session: tokens stay in memory), no proxy, and our $BROWSER.
const env = { ...process.env };
for (const k of Object.keys(env)) {
  if (/^(DBUS_|XDG_|MCP_KEYBRIDGE_(?!BIN$)|SSE_SERVER_URL$|RUST_LOG$)/.test(k) || /_proxy$/i.test(k)) delete env[k];
}
Object.assign(env, bridgeEnv, {
  HOME: home,
  XDG_CONFIG_HOME: path.join(runDir, 'config'),
  XDG_DATA_HOME: path.join(runDir, 'data'),
  XDG_CACHE_HOME: path.join(runDir, 'cache'),
  XDG_STATE_HOME: path.join(runDir, 'state'),
  XDG_RUNTIME_DIR: path.join(runDir, 'runtime'),
  DBUS_SESSION_BUS_ADDRESS: 'disabled:',
  NO_PROXY: '*',
  no_proxy: '*',
  BROWSER: path.join(HERE, 'browser.sh'),
  KB_CONF_BROWSER_LOG: path.join(runDir, 'browser.log'),
  NO_COLOR: '1'
});
if (RELAY === 'mcp-remote') {
  // mcp-remote keeps its OAuth state and --debug log under MCP_REMOTE_CONFIG_DIR (else
  // ~/.mcp-auth): per run, like the rest. It opens the browser with the `open` package, whose
  // bundled xdg-open, with no desktop session (no DISPLAY), runs $BROWSER: browser.sh.
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  env.MCP_REMOTE_CONFIG_DIR = path.join(runDir, 'mcp-auth');
  // mcp-remote starts its callback listener only once the opener has exited (or after
  // 500 ms). xdg-open runs browser.sh synchronously, whose curl would reach the callback
  // before that (connection refused); a person's browser is never that fast, so for
  // mcp-remote browser.sh waits 2 s first.
  env.KB_CONF_BROWSER_DELAY = process.env.KB_CONF_BROWSER_DELAY || '2';
  if (ctx.client_secret !== undefined) env.KB_CONF_CLIENT_SECRET = ctx.client_secret;
}
writeFileSync(
  path.join(runDir, 'command.txt'),
  `era=${era} scenario=${scenario}${RELAY === 'mcp-remote' ? ' relay=mcp-remote' : ''}\n${relayCommand} ${relayArgs.map((a) => JSON.stringify(a)).join(' ')}\n` +
    (process.env.MCP_CONFORMANCE_CONTEXT ? `context=${process.env.MCP_CONFORMANCE_CONTEXT}\n` : '')
);
log(`era=${era} scenario=${scenario} wire=${process.env.MCP_CONFORMANCE_PROTOCOL_VERSION ?? '?'} dir=${runDir}`);

// ---------------------------------------------------------------------------
// The two client eras behind one small interface
// ---------------------------------------------------------------------------

async function makeClient({ name, capabilities = {}, onElicit } = {}) {
  const info = { name: name ?? 'mcp-keybridge-conformance-client', version: '1.0.0' };
  const transportParams = { command: relayCommand, args: relayArgs, env, stderr: 'pipe' };
  let client, transport;
  if (era === 'modern') {
    const { Client } = await import('@modelcontextprotocol/client');
    const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
    // Pinned to 2026-07-28: stateless, no initialize; connect() sends server/discover and
    // every request carries the per-request _meta envelope.
    client = new Client(info, { capabilities, versionNegotiation: { mode: { pin: MODERN_VERSION } } });
    if (onElicit) client.setRequestHandler('elicitation/create', async (req) => onElicit(req.params));
    transport = new StdioClientTransport(transportParams);
  } else {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
    const { ElicitRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
    // TypeScript SDK 1.x (what Claude Desktop is built on): stateful, initialize at 2025-11-25.
    client = new Client(info, { capabilities });
    if (onElicit) client.setRequestHandler(ElicitRequestSchema, async (req) => onElicit(req.params));
    transport = new StdioClientTransport(transportParams);
  }
  transport.stderr?.on('data', (d) => process.stderr.write(`[bridge stderr] ${d}`));
  if (RELAY === 'mcp-remote') {
    transport.stderr?.on('data', (d) => appendFileSync(path.join(runDir, 'relay.stderr'), d));
    // Record the pid as soon as it exists: when initialize times out the SDK drops the
    // process (transport.pid is null by connect()'s finally) without waiting to kill it, and
    // mcp-remote, waiting for a sign-in, does not exit on stdin EOF; run.sh reaps by this pid.
    const start = transport.start.bind(transport);
    transport.start = async () => {
      await start();
      if (transport.pid) writeFileSync(path.join(runDir, 'bridge.pid'), String(transport.pid));
    };
  }
  const opts = { timeout: REQUEST_TIMEOUT_MS };
  const c = {
    raw: client,
    async connect() {
      try {
        await client.connect(transport, opts);
      } finally {
        // run.sh reaps a bridge left running after its scenario, by this pid only.
        if (transport.pid) writeFileSync(path.join(runDir, 'bridge.pid'), String(transport.pid));
      }
      log('connected', {
        negotiated: client.getNegotiatedProtocolVersion?.() ?? null,
        server: client.getServerVersion?.() ?? null
      });
    },
    async listTools() {
      const r = await client.listTools(undefined, opts);
      log('tools/list ->', r.tools.map((t) => t.name));
      return r.tools;
    },
    async callTool(name, args = {}) {
      const r =
        era === 'modern'
          ? await client.callTool({ name, arguments: args }, opts)
          : await client.callTool({ name, arguments: args }, undefined, opts);
      log(`tools/call ${name} ->`, r);
      return r;
    },
    async listResources() {
      const r = await client.listResources(undefined, opts);
      log('resources/list ->', r.resources.map((x) => x.uri));
      return r.resources;
    },
    async readResource(uri) {
      const r = await client.readResource({ uri }, opts);
      log(`resources/read ${uri} ->`, r);
      return r;
    },
    async listPrompts() {
      const r = await client.listPrompts(undefined, opts);
      log('prompts/list ->', r.prompts.map((x) => x.name));
      return r.prompts;
    },
    async getPrompt(name, args = {}) {
      const r = await client.getPrompt({ name, arguments: args }, opts);
      log(`prompts/get ${name} ->`, r);
      return r;
    },
    async close() {
      // Closing stdin is how a stdio client ends the bridge; the SDK then escalates to
      // SIGTERM / SIGKILL if it lingers.
      await client.close();
      log('closed');
    }
  };
  return c;
}

/** Connect, run `body`, always close (so the bridge gets its stdin EOF). */
async function withClient(options, body) {
  const c = await makeClient(options);
  try {
    await c.connect();
    await body(c);
  } finally {
    await c.close().catch((e) => log('close failed:', String(e)));
  }
}

// ---------------------------------------------------------------------------
// Scenario handlers (mirroring the reference clients)
// ---------------------------------------------------------------------------

const handlers = {};
const register = (names, fn) => [].concat(names).forEach((n) => (handlers[n] = fn));

// initialize / tools_call: list tools, call the first with {a, b}.
register(['initialize', 'tools_call', 'tools-call'], () =>
  withClient({}, async (c) => {
    const tools = await c.listTools();
    if (tools[0]) await c.callTool(tools[0].name, { a: 2, b: 3 });
  })
);

// request-metadata (SEP-2575): the modern client's connect-time server/discover and a
// tools/list, each carrying the MCP-Protocol-Version header and the _meta envelope.
register('request-metadata', () =>
  withClient({ capabilities: { roots: { listChanged: true }, sampling: {}, elicitation: {} } }, async (c) => {
    await c.listTools();
  })
);

// json-schema-ref-no-deref (SEP-2106): list tools, never fetch the $ref URI.
register('json-schema-ref-no-deref', () => withClient({}, async (c) => void (await c.listTools())));

// json-schema-2020-12-preservation: echo the observed inputSchema back verbatim.
register('json-schema-2020-12-preservation', () =>
  withClient({}, async (c) => {
    const tools = await c.listTools();
    const focal = tools.find((t) => t.name === 'json_schema_2020_12_tool');
    if (!focal) throw new Error("tool 'json_schema_2020_12_tool' not advertised");
    await c.callTool('json_schema_echo', { schema: focal.inputSchema });
  })
);

// elicitation-sep1034-client-defaults: accept with empty content; the SDK fills defaults.
register(['elicitation-sep1034-client-defaults', 'elicitation-defaults'], () =>
  withClient(
    {
      capabilities: { elicitation: { form: { applyDefaults: true } } },
      onElicit: async (params) => {
        log('elicitation/create <-', params);
        return { action: 'accept', content: {} };
      }
    },
    async (c) => {
      const tools = await c.listTools();
      if (!tools.some((t) => t.name === 'test_client_elicitation_defaults'))
        throw new Error('tool test_client_elicitation_defaults not advertised');
      await c.callTool('test_client_elicitation_defaults', {});
    }
  )
);

// sse-retry (SEP-1699): the server closes the SSE stream mid-call; the result must still
// arrive (the bridge reconnects with Last-Event-ID, honouring `retry`).
register('sse-retry', () =>
  withClient({}, async (c) => {
    const tools = await c.listTools();
    if (!tools.some((t) => t.name === 'test_reconnection')) throw new Error('tool test_reconnection not advertised');
    await c.callTool('test_reconnection', {});
  })
);

// sep-2322-client-request-state (MRTR): the server answers tools/call with input_required.
// A modern client fulfils it itself (the SDK's auto-fulfilment through the elicitation
// handler); with a legacy client the bridge must turn it into elicitation/create requests.
register('sep-2322-client-request-state', () =>
  withClient(
    {
      capabilities: { elicitation: {} },
      onElicit: async (params) => {
        log('elicitation/create <-', params);
        return { action: 'accept', content: { confirmed: true } };
      }
    },
    async (c) => {
      await c.listTools();
      await c.callTool('test_mrtr_echo_state', {});
      await c.callTool('test_mrtr_no_state', {});
      await c.callTool('test_mrtr_unrelated', {});
      // A result without resultType: must be taken as complete (no retry). The 2.x SDK
      // rejects it locally as a protocol violation; either way there is no retry.
      await c.callTool('test_mrtr_no_result_type', {}).catch((e) => log('test_mrtr_no_result_type rejected:', String(e)));
    }
  )
);

// http-standard-headers (SEP-2243): drive every method once so each POST's Mcp-Method /
// Mcp-Name can be checked.
register('http-standard-headers', () =>
  withClient({}, async (c) => {
    const tools = await c.listTools();
    if (tools[0]) await c.callTool(tools[0].name, {});
    const resources = await c.listResources();
    if (resources[0]) await c.readResource(resources[0].uri);
    const prompts = await c.listPrompts();
    if (prompts[0]) await c.getPrompt(prompts[0].name, {});
  })
);

// http-custom-headers (SEP-2243): list (so x-mcp-header annotations are known), then make
// the calls the runner passes in the context; Mcp-Param-* headers are checked.
register('http-custom-headers', () =>
  withClient({}, async (c) => {
    await c.listTools();
    for (const call of ctx.toolCalls ?? []) await c.callTool(call.name, call.arguments ?? {});
  })
);

// http-invalid-tool-headers (SEP-2243): tools with an invalid x-mcp-header must not survive
// tools/list; call every tool that did.
register('http-invalid-tool-headers', () =>
  withClient({}, async (c) => {
    const tools = await c.listTools();
    for (const t of tools) {
      await c.callTool(t.name, { region: 'us-west1' }).catch((e) => log(`call ${t.name} rejected:`, String(e)));
    }
  })
);

// auth/*: the bridge signs in (its own OAuth); the client just uses the server.
async function authFlow(c) {
  const tools = await c.listTools();
  if (tools.some((t) => t.name === 'test-tool') || tools.length === 0) await c.callTool('test-tool', {});
}
register(
  [
    'auth/basic-cimd',
    'auth/basic-dcr',
    'auth/metadata-default',
    'auth/metadata-var1',
    'auth/metadata-var2',
    'auth/metadata-var3',
    'auth/2025-03-26-oauth-metadata-backcompat',
    'auth/2025-03-26-oauth-endpoint-fallback',
    'auth/scope-from-www-authenticate',
    'auth/scope-from-scopes-supported',
    'auth/scope-omitted-when-undefined',
    'auth/scope-step-up',
    'auth/scope-retry-limit',
    'auth/token-endpoint-auth-basic',
    'auth/token-endpoint-auth-post',
    'auth/token-endpoint-auth-none',
    'auth/resource-mismatch',
    'auth/offline-access-scope',
    'auth/offline-access-not-supported',
    'auth/iss-supported',
    'auth/iss-not-advertised',
    'auth/iss-supported-missing',
    'auth/iss-wrong-issuer',
    'auth/iss-unexpected',
    'auth/iss-normalized',
    'auth/metadata-issuer-mismatch',
    'auth/authorization-server-migration',
    'auth/pre-registration',
    'auth/client-credentials-basic',
    'auth/client-credentials-jwt',
    'auth/enterprise-managed-authorization',
    'auth/wif-jwt-bearer',
    'auth/dpop',
    'auth/dpop-nonce'
  ],
  () => withClient({}, authFlow)
);

// ---------------------------------------------------------------------------

const handler = handlers[scenario];
if (!handler) die(`no handler for scenario '${scenario}' (known: ${Object.keys(handlers).sort().join(', ')})`);

// Never outlive the runner's own timeout; leave the bridge no chance to hang us.
const hardTimer = setTimeout(() => {
  log('client.mjs: giving up after 50 s');
  process.exit(3);
}, Number(process.env.KEYBRIDGE_CONF_CLIENT_TIMEOUT_MS || 50000));
hardTimer.unref();

try {
  await handler();
  log('scenario flow completed');
  process.exit(0);
} catch (e) {
  log('scenario flow failed:', e?.stack ?? String(e));
  process.exit(1);
}
