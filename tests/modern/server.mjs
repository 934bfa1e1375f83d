// A 2026-07-28-ONLY MCP server on the official TypeScript SDK 2.x (`createMcpHandler` with
// `legacy: 'reject'`), served over Streamable HTTP on 127.0.0.1 with bearer auth. It records what
// every HTTP request carried (the SEP-2243 headers, the `_meta` envelope, auth and session
// presence) so a test can assert on the wire, not only on results.
//
//   MODERN_TOKEN=secret node server.mjs [--port N] [--log FILE]
//
// `--port 0` (the default) binds a free port. The first stdout line is `LISTENING <port>`.
// Endpoints:
//   POST /mcp             the MCP endpoint (Authorization: Bearer $MODERN_TOKEN, else 401)
//   GET  /_debug/requests every recorded request so far, as JSON (no auth: loopback test server)
//   GET  /_debug/events   what handlers observed (a cancelled `count`)
//   POST /_debug/reset    forget both
// With --log FILE (or MODERN_LOG) each record is also appended to FILE as one JSON line.
//
// Surface (see README.md): tools echo, count (progress), lookup (argument `region` carries
// `x-mcp-header: Region`), confirm (input_required elicitation + requestState), add_tool (registers
// a tool and publishes tools/list_changed), bump (publishes resources/updated for counter://value);
// resources info://about, counter://value; prompt greet.
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import {
  McpServer,
  OAuthError,
  OAuthErrorCode,
  acceptedContent,
  bearerAuthChallengeResponse,
  createMcpHandler,
  fromJsonSchema,
  inputRequired,
  inputResponse,
  verifyBearerToken,
} from '@modelcontextprotocol/server';
import { localhostHostValidation, toNodeHandler } from '@modelcontextprotocol/node';
import * as z from 'zod/v4';

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}
const port = Number(option('--port', process.env.MODERN_PORT ?? '0'));
const logFile = option('--log', process.env.MODERN_LOG);
const TOKEN = process.env.MODERN_TOKEN;
if (!TOKEN) {
  console.error('server.mjs: MODERN_TOKEN must be set');
  process.exit(2);
}

// The exact requestState the confirm tool mints; the retry must echo it byte for byte. It holds
// characters a sloppy relay might re-encode (`+`, `/`, `=`, a quote, a non-ASCII letter).
const REQUEST_STATE = 'v1+/state=="ünïcode" ' + Buffer.from('{"step":"asked"}').toString('base64');

// State that outlives the per-request McpServer instances.
const dynamicTools = new Set();
// Things handlers observed (e.g. a cancellation), for GET /_debug/events.
const events = [];
let counter = 0;

function buildServer({ requestInfo }) {
  // resources.subscribe: per-resource updates (resourceSubscriptions on subscriptions/listen) need it.
  const server = new McpServer(
    { name: 'modern-test-server', version: '2.4.0-test' },
    { capabilities: { resources: { subscribe: true, listChanged: true } } },
  );

  server.registerTool(
    'echo',
    { description: 'Echo the text back', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );

  server.registerTool(
    'count',
    {
      description: 'Count to `to`, sending a progress notification per step',
      inputSchema: z.object({ to: z.number().int().min(1).max(20) }),
    },
    async ({ to }, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (let i = 1; i <= to; i++) {
        await new Promise((r) => setTimeout(r, 30));
        if (ctx.mcpReq.signal.aborted) {
          // The client cancelled (on HTTP: closed the response stream). Seen by /_debug/events.
          events.push({ t: new Date().toISOString(), event: 'cancelled', tool: 'count', requestId: ctx.mcpReq.id, atStep: i });
          throw new Error('cancelled');
        }
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({
            method: 'notifications/progress',
            params: { progressToken, progress: i, total: to, message: `step ${i}` },
          });
        }
      }
      return { content: [{ type: 'text', text: `counted to ${to} (progressToken ${progressToken === undefined ? 'absent' : 'present'})` }] };
    },
  );

  // SEP-2243: `region` is mirrored into the `Mcp-Param-Region` header by a conforming HTTP
  // client; createMcpHandler itself rejects a missing or disagreeing header (400, -32020)
  // before this handler runs. The handler reports what it saw anyway.
  server.registerTool(
    'lookup',
    {
      description: 'Look up a region; `region` travels as the Mcp-Param-Region header',
      inputSchema: fromJsonSchema({
        type: 'object',
        properties: {
          region: { type: 'string', 'x-mcp-header': 'Region' },
          query: { type: 'string' },
        },
        required: ['region', 'query'],
      }),
    },
    async ({ region, query }, ctx) => {
      const req = ctx.http?.req ?? requestInfo;
      const header = req?.headers.get('mcp-param-region') ?? null;
      return {
        content: [{ type: 'text', text: JSON.stringify({ region, query, header }) }],
        structuredContent: { region, query, header },
      };
    },
  );

  // SEP-2322 multi-round-trip: the first call answers input_required (an elicitation plus a
  // requestState); the retry carries inputResponses and the echoed requestState.
  const confirmSchema = {
    type: 'object',
    properties: { confirm: { type: 'boolean' }, note: { type: 'string' } },
    required: ['confirm'],
  };
  server.registerTool(
    'confirm',
    { description: 'Ask the user to confirm an action (input_required)', inputSchema: z.object({ action: z.string() }) },
    async ({ action }, ctx) => {
      const view = inputResponse(ctx.mcpReq.inputResponses, 'confirm');
      if (view.kind === 'missing') {
        return inputRequired({
          inputRequests: { confirm: inputRequired.elicit({ message: `Really ${action}?`, requestedSchema: confirmSchema }) },
          requestState: REQUEST_STATE,
        });
      }
      const state = ctx.mcpReq.requestState();
      if (state !== REQUEST_STATE) {
        return { isError: true, content: [{ type: 'text', text: `requestState not echoed byte for byte: ${JSON.stringify(state)}` }] };
      }
      const content = acceptedContent(ctx.mcpReq.inputResponses, 'confirm');
      if (content?.confirm !== true) {
        return { isError: true, content: [{ type: 'text', text: `not confirmed: ${JSON.stringify(view)}` }] };
      }
      return { content: [{ type: 'text', text: `confirmed ${action}; note=${content.note ?? ''}; state echoed` }] };
    },
  );

  server.registerTool(
    'add_tool',
    { description: 'Register a new tool named `name`, then publish tools/list_changed', inputSchema: z.object({ name: z.string() }) },
    async ({ name }) => {
      dynamicTools.add(name);
      // Publish after the response is on its way, as a real change would.
      setTimeout(() => handler.notify.toolsChanged(), 50);
      return { content: [{ type: 'text', text: `added ${name}` }] };
    },
  );

  server.registerTool(
    'bump',
    { description: 'Increment counter://value, then publish resources/updated for it' },
    async () => {
      counter += 1;
      setTimeout(() => handler.notify.resourceUpdated('counter://value'), 50);
      return { content: [{ type: 'text', text: `counter=${counter}` }] };
    },
  );

  for (const name of dynamicTools) {
    server.registerTool(name, { description: `dynamically added tool ${name}` }, async () => ({
      content: [{ type: 'text', text: `${name} ran` }],
    }));
  }

  server.registerResource(
    'about',
    'info://about',
    { title: 'About', description: 'What this server is', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'modern-test-server: 2026-07-28 only' }] }),
  );
  server.registerResource(
    'counter',
    'counter://value',
    { title: 'Counter', description: 'Incremented by the bump tool', mimeType: 'text/plain' },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: String(counter) }] }),
  );

  server.registerPrompt(
    'greet',
    { description: 'Greet someone', argsSchema: z.object({ name: z.string() }) },
    ({ name }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${name}!` } }] }),
  );

  return server;
}

const handler = createMcpHandler(buildServer, {
  legacy: 'reject',
  onerror: (e) => console.error(`server.mjs: handler error: ${e?.message ?? e}`),
});
const nodeHandler = toNodeHandler(handler, { onerror: (e) => console.error(`server.mjs: adapter error: ${e?.message ?? e}`) });
const validateHost = localhostHostValidation();

// ---- recording -------------------------------------------------------------------------------
const records = [];
let seq = 0;
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
const CLIENT_INFO_KEY = 'io.modelcontextprotocol/clientInfo';
const CLIENT_CAPS_KEY = 'io.modelcontextprotocol/clientCapabilities';
const LOG_LEVEL_KEY = 'io.modelcontextprotocol/logLevel';

function summarizeMessage(m) {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return { invalid: true };
  const p = m.params ?? {};
  const meta = p._meta ?? {};
  return {
    id: m.id,
    method: m.method,
    kind: m.method ? ('id' in m ? 'request' : 'notification') : 'response',
    name: p.name ?? p.uri,
    metaKeys: Object.keys(meta),
    metaProtocolVersion: meta[PROTOCOL_VERSION_KEY],
    metaClientInfo: meta[CLIENT_INFO_KEY],
    metaClientCapabilities: meta[CLIENT_CAPS_KEY],
    metaLogLevel: meta[LOG_LEVEL_KEY],
    progressToken: meta.progressToken,
    arguments: p.arguments,
    filter: m.method === 'subscriptions/listen' ? p.notifications : undefined,
    inputResponseKeys: p.inputResponses ? Object.keys(p.inputResponses) : undefined,
    inputResponses: p.inputResponses,
    requestState: p.requestState,
    requestStateEchoed: p.requestState === undefined ? undefined : p.requestState === REQUEST_STATE,
  };
}

function record(req, rawBody, parsed, authVerdict) {
  const h = req.headers;
  const params = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith('mcp-param-')) params[k] = v;
  const rec = {
    seq: ++seq,
    t: new Date().toISOString(),
    httpMethod: req.method,
    path: req.url,
    auth: authVerdict,
    sessionIdPresent: h['mcp-session-id'] !== undefined,
    headers: {
      'mcp-protocol-version': h['mcp-protocol-version'],
      'mcp-method': h['mcp-method'],
      'mcp-name': h['mcp-name'],
      ...params,
      accept: h.accept,
      'content-type': h['content-type'],
      'last-event-id': h['last-event-id'],
    },
    body: parsed === undefined ? (rawBody ? { unparsable: rawBody.slice(0, 300) } : undefined)
      : Array.isArray(parsed) ? { batch: parsed.map(summarizeMessage) } : summarizeMessage(parsed),
    response: {},
  };
  records.push(rec);
  return rec;
}

function captureResponse(res, rec) {
  const writeHead = res.writeHead.bind(res);
  res.writeHead = (status, ...rest) => {
    rec.response.status = status;
    const hdrs = rest.find((x) => x && typeof x === 'object') ?? {};
    rec.response.contentType = hdrs['content-type'] ?? hdrs['Content-Type'] ?? res.getHeader('content-type');
    return writeHead(status, ...rest);
  };
  let head = '';
  const keep = (chunk) => {
    if (chunk && head.length < 2000) head += Buffer.from(chunk).toString('utf8').slice(0, 2000 - head.length);
  };
  const write = res.write.bind(res);
  res.write = (chunk, ...rest) => (keep(chunk), write(chunk, ...rest));
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    keep(typeof chunk === 'function' ? undefined : chunk);
    rec.response.bodyHead = head;
    if (logFile) appendFileSync(logFile, JSON.stringify(rec) + '\n');
    return end(chunk, ...rest);
  };
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

const verifier = {
  async verifyAccessToken(token) {
    if (token !== TOKEN) throw new OAuthError(OAuthErrorCode.InvalidToken, 'unknown token');
    return { token, clientId: 'modern-test-client', scopes: [], expiresAt: Math.floor(Date.now() / 1000) + 3600 };
  },
};

async function sendWeb(res, response) {
  const headers = {};
  for (const [k, v] of response.headers) headers[k] = v;
  res.writeHead(response.status, headers);
  res.end(Buffer.from(await response.arrayBuffer()));
}

const httpServer = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/_debug/requests' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(records));
      return;
    }
    if (url.pathname === '/_debug/events' && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(events));
      return;
    }
    if (url.pathname === '/_debug/reset' && req.method === 'POST') {
      records.length = 0;
      events.length = 0;
      res.writeHead(204);
      res.end();
      return;
    }
    if (!validateHost(req, res)) return;

    const rawBody = req.method === 'POST' ? await readBody(req) : '';
    let parsed;
    try {
      parsed = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      parsed = undefined;
    }
    const authz = req.headers.authorization;
    let authInfo;
    let authVerdict = authz === undefined ? 'missing' : 'ok';
    let authError;
    try {
      authInfo = await verifyBearerToken(authz, { verifier });
    } catch (e) {
      if (authVerdict === 'ok') authVerdict = 'rejected';
      authError = e;
    }
    const rec = record(req, rawBody, parsed, authVerdict);
    captureResponse(res, rec);

    if (url.pathname !== '/mcp') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    if (authError) {
      await sendWeb(res, bearerAuthChallengeResponse(authError));
      return;
    }
    if (req.method === 'POST' && rawBody && parsed === undefined) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' } }));
      return;
    }
    req.auth = authInfo;
    await nodeHandler(req, res, parsed);
  } catch (e) {
    console.error(`server.mjs: ${e?.stack ?? e}`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
});

httpServer.listen(port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
});

async function shutdown() {
  await handler.close().catch(() => {});
  httpServer.close();
  httpServer.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
