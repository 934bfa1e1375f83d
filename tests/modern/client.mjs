// Drives a 2026-07-28 MCP server with a real SDK client, either directly over Streamable HTTP
// or through mcp-keybridge over stdio, and checks every operation (and, when the server is
// tests/modern/server.mjs, what reached the server on the wire).
//
//   node client.mjs --direct URL                 [options]
//   node client.mjs --via-bridge BIN URL         [options]   (spawns BIN URL --bearer env:MODERN_TOKEN --log-level debug)
//
// Options:
//   --era modern|legacy   the client: `modern` = @modelcontextprotocol/client 2.x pinned to 2026-07-28
//                         (default); `legacy` = @modelcontextprotocol/sdk 1.32.2 (2025 initialize
//                         handshake, what Claude Desktop is built on) for cross-era runs.
//   --no-wire             the server is not server.mjs: skip the checks that read its /_debug/requests
//   --timeout MS          bound per operation (default 15000)
//   --only a,b            run only these operations (connect always runs)
//   --bridge-log FILE     write the bridge's stderr there (default: printed on failure)
//   --trace FILE          write every stdio message client⇄bridge there (JSON lines; via-bridge only)
// Environment: MODERN_TOKEN (the bearer token; required).
//
// One line per operation: `ok   name  detail` or `FAIL name  reason`. Exit 1 if any failed.
import { appendFileSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';

// ---- command line ----------------------------------------------------------------------------
const argv = process.argv.slice(2);
const opts = { era: 'modern', wire: true, timeout: 15000, only: null, bridgeLog: null, trace: null };
let mode;
let bin;
let url;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--direct') (mode = 'direct'), (url = argv[++i]);
  else if (a === '--via-bridge') (mode = 'bridge'), (bin = argv[++i]), (url = argv[++i]);
  else if (a === '--era') opts.era = argv[++i];
  else if (a === '--no-wire') opts.wire = false;
  else if (a === '--timeout') opts.timeout = Number(argv[++i]);
  else if (a === '--only') opts.only = argv[++i].split(',');
  else if (a === '--bridge-log') opts.bridgeLog = argv[++i];
  else if (a === '--trace') opts.trace = argv[++i];
  else usage(`unknown argument ${a}`);
}
function usage(msg) {
  console.error(`client.mjs: ${msg}\nusage: node client.mjs --direct URL | --via-bridge BIN URL [--era modern|legacy] [--no-wire] [--timeout MS] [--only a,b] [--bridge-log FILE] [--trace FILE]`);
  process.exit(2);
}
if (!mode || !url) usage('need --direct URL or --via-bridge BIN URL');
if (!['modern', 'legacy'].includes(opts.era)) usage(`bad --era ${opts.era}`);
const TOKEN = process.env.MODERN_TOKEN;
if (!TOKEN) usage('MODERN_TOKEN must be set');
const MODERN = '2026-07-28';

// ---- wire records from server.mjs --------------------------------------------------------------
const wire = {
  async all() {
    const r = await fetch(new URL('/_debug/requests', url));
    if (!r.ok) throw new Error(`/_debug/requests answered ${r.status}`);
    return r.json();
  },
  async mark() {
    if (!opts.wire) return 0;
    const all = await this.all();
    return all.length ? all[all.length - 1].seq : 0;
  },
  async since(mark) {
    return (await this.all()).filter((r) => r.seq > mark);
  },
};
const byMethod = (recs, method) => recs.filter((r) => r.body?.method === method);
const brief = (r) =>
  `#${r.seq} ${r.httpMethod} ${r.body?.method ?? '-'} → ${r.response?.status ?? '?'} ` +
  `[ver=${r.headers['mcp-protocol-version'] ?? '∅'} method=${r.headers['mcp-method'] ?? '∅'} name=${r.headers['mcp-name'] ?? '∅'} ` +
  `auth=${r.auth} session=${r.sessionIdPresent} metaVer=${r.body?.metaProtocolVersion ?? '∅'}]` +
  (r.response?.status >= 400 ? ` body=${oneLine(r.response.bodyHead ?? '')}` : '');

// ---- the client of each era, behind one small interface ---------------------------------------
// Each era returns { client, connect(transport), callTool, listTools, ..., onElicit, onNotification, openChanges }.
async function modernClient() {
  const { Client, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client');
  const { StdioClientTransport } = await import('@modelcontextprotocol/client/stdio');
  const client = new Client(
    { name: 'keybridge-modern-test', version: '0.0.0' },
    {
      capabilities: { elicitation: { form: {} } },
      versionNegotiation: { mode: { pin: MODERN } },
    },
  );
  return {
    era: 'modern',
    client,
    httpTransport: () =>
      new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }),
    stdioTransport: (params) => new StdioClientTransport(params),
    connect: (t, o) => client.connect(t, o),
    describe: () => ({
      era: client.getProtocolEra(),
      discover: client.getDiscoverResult(),
      server: client.getServerVersion(),
      caps: client.getServerCapabilities(),
    }),
    listTools: (o) => client.listTools(undefined, { ...o, cacheMode: 'refresh' }),
    callTool: (p, o) => client.callTool(p, o),
    listResources: (o) => client.listResources(undefined, { ...o, cacheMode: 'refresh' }),
    readResource: (p, o) => client.readResource(p, { ...o, cacheMode: 'refresh' }),
    listPrompts: (o) => client.listPrompts(undefined, { ...o, cacheMode: 'refresh' }),
    getPrompt: (p, o) => client.getPrompt(p, o),
    onElicit: (fn) => client.setRequestHandler('elicitation/create', fn),
    onNotification: (method, fn) => client.setNotificationHandler(method, fn),
    async openChanges(filter, o) {
      const sub = await client.listen(filter, o);
      return { honored: sub.honoredFilter, close: () => sub.close(), closed: sub.closed };
    },
    close: () => client.close(),
  };
}

async function legacyClient() {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  const types = await import('@modelcontextprotocol/sdk/types.js');
  const client = new Client({ name: 'keybridge-legacy-test', version: '0.0.0' }, { capabilities: { elicitation: {} } });
  const notificationSchemas = {
    'notifications/tools/list_changed': types.ToolListChangedNotificationSchema,
    'notifications/resources/updated': types.ResourceUpdatedNotificationSchema,
    'notifications/resources/list_changed': types.ResourceListChangedNotificationSchema,
    'notifications/prompts/list_changed': types.PromptListChangedNotificationSchema,
  };
  return {
    era: 'legacy',
    client,
    httpTransport: () =>
      new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }),
    stdioTransport: (params) => new StdioClientTransport(params),
    connect: (t, o) => client.connect(t, o),
    describe: () => ({ era: 'legacy', server: client.getServerVersion(), caps: client.getServerCapabilities() }),
    listTools: (o) => client.listTools(undefined, o),
    callTool: (p, o) => client.callTool(p, undefined, o),
    listResources: (o) => client.listResources(undefined, o),
    readResource: (p, o) => client.readResource(p, o),
    listPrompts: (o) => client.listPrompts(undefined, o),
    getPrompt: (p, o) => client.getPrompt(p, o),
    onElicit: (fn) => client.setRequestHandler(types.ElicitRequestSchema, fn),
    onNotification: (method, fn) => client.setNotificationHandler(notificationSchemas[method], fn),
    // 2025 era: list_changed arrives unsolicited; per-resource updates need resources/subscribe.
    async openChanges(filter, o) {
      const uris = filter.resourceSubscriptions ?? [];
      for (const uri of uris) await client.subscribeResource({ uri }, o);
      return {
        honored: filter,
        close: async () => {
          for (const uri of uris) await client.unsubscribeResource({ uri }, o);
        },
        closed: Promise.resolve('local'),
      };
    },
    close: () => client.close(),
  };
}

// ---- helpers -----------------------------------------------------------------------------------
function oneLine(s) {
  return String(s).replace(/\s+/g, ' ').slice(0, 400);
}
function describeError(e) {
  if (!e) return String(e);
  const parts = [e.name && e.name !== 'Error' ? e.name : null, e.code !== undefined ? `code=${e.code}` : null, e.message];
  if (e.data !== undefined) parts.push(`data=${JSON.stringify(e.data).slice(0, 300)}`);
  return oneLine(parts.filter(Boolean).join(' '));
}
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
// A promise that resolves when `predicate(notification)` holds for a notification seen by `watch`.
function waiter() {
  const seen = [];
  const waiting = [];
  return {
    seen,
    push(n) {
      seen.push(n);
      for (const w of [...waiting]) if (w.pred(n)) waiting.splice(waiting.indexOf(w), 1), w.resolve(n);
    },
    wait(pred, ms, what) {
      const hit = seen.find(pred);
      if (hit) return Promise.resolve(hit);
      return withTimeout(new Promise((resolve) => waiting.push({ pred, resolve })), ms, what);
    },
  };
}
const text = (result) => result?.content?.find((c) => c.type === 'text')?.text;
// The Base64 sentinel of SEP-2243 for a value that is not plain printable ASCII.
const sentinel = (v) => `=?base64?${Buffer.from(v, 'utf8').toString('base64')}?=`;

// ---- the operations ----------------------------------------------------------------------------
// Each operation: { name, eras: which client eras run it, wire: needs server.mjs records, run(ctx) → detail }.
// ctx: { c (era client), T (request options with timeout), mark (wire seq before the op), since(), notes }.
const TOOL_NAMES = ['echo', 'count', 'lookup', 'confirm', 'add_tool', 'bump'];
const operations = [
  {
    name: 'tools/list',
    async run({ c, T, since }) {
      const { tools } = await c.listTools(T);
      const names = tools.map((t) => t.name);
      for (const want of TOOL_NAMES) assert.ok(names.includes(want), `no ${want} tool in ${names}`);
      const lookup = tools.find((t) => t.name === 'lookup');
      assert.equal(lookup.inputSchema?.properties?.region?.['x-mcp-header'], 'Region', `lookup lost x-mcp-header: ${JSON.stringify(lookup.inputSchema)}`);
      const recs = await since();
      if (recs) assert.ok(byMethod(recs, 'tools/list').length >= 1, 'server saw no tools/list');
      return `${names.length} tools`;
    },
  },
  {
    name: 'tools/call echo',
    async run({ c, T, since }) {
      const msg = 'héllo 👋 "quoted"\nline2';
      const r = await c.callTool({ name: 'echo', arguments: { text: msg } }, T);
      assert.equal(r.isError ?? false, false, JSON.stringify(r));
      assert.equal(text(r), msg);
      const recs = await since();
      if (recs) {
        const calls = byMethod(recs, 'tools/call').filter((x) => x.body.name === 'echo');
        assert.ok(calls.length >= 1, 'server saw no tools/call echo');
        assert.equal(calls.at(-1).headers['mcp-name'], 'echo', `Mcp-Name: ${brief(calls.at(-1))}`);
      }
      return 'text round-tripped';
    },
  },
  {
    name: 'progress',
    async run({ c, T, since }) {
      const updates = [];
      const r = await c.callTool({ name: 'count', arguments: { to: 3 } }, { ...T, onprogress: (p) => updates.push(p) });
      assert.match(text(r) ?? '', /counted to 3 \(progressToken present\)/, `result: ${JSON.stringify(r)}`);
      assert.equal(updates.length, 3, `progress updates: ${JSON.stringify(updates)}`);
      assert.deepEqual(updates.map((u) => u.progress), [1, 2, 3]);
      const recs = await since();
      if (recs) {
        const call = byMethod(recs, 'tools/call').find((x) => x.body.name === 'count');
        assert.ok(call?.body.progressToken !== undefined, 'no progressToken in _meta on the wire');
        assert.match(call.response.contentType ?? '', /text\/event-stream/, `response was not SSE: ${brief(call)}`);
      }
      return `3 notifications/progress, in order`;
    },
  },
  {
    name: 'x-mcp-header (ASCII)',
    async run({ c, T, since }) {
      const r = await c.callTool({ name: 'lookup', arguments: { region: 'eu-west-1', query: 'q' } }, T);
      assert.equal(r.isError ?? false, false, JSON.stringify(r));
      const seen = JSON.parse(text(r));
      assert.equal(seen.header, 'eu-west-1', `handler saw Mcp-Param-Region=${seen.header}`);
      const recs = await since();
      if (recs) {
        const calls = byMethod(recs, 'tools/call').filter((x) => x.body.name === 'lookup');
        const bad = calls.filter((x) => x.response.status >= 400);
        assert.equal(bad.length, 0, `rejected first: ${bad.map(brief).join('; ')}`);
        assert.equal(calls.at(-1).headers['mcp-param-region'], 'eu-west-1');
      }
      return 'Mcp-Param-Region: eu-west-1 reached the server';
    },
  },
  {
    name: 'x-mcp-header (non-ASCII → base64 sentinel)',
    async run({ c, T, since }) {
      const r = await c.callTool({ name: 'lookup', arguments: { region: 'Zürich', query: 'q' } }, T);
      assert.equal(r.isError ?? false, false, JSON.stringify(r));
      const seen = JSON.parse(text(r));
      assert.equal(seen.region, 'Zürich');
      assert.equal(seen.header, sentinel('Zürich'), `handler saw Mcp-Param-Region=${seen.header}`);
      const recs = await since();
      if (recs) {
        const bad = byMethod(recs, 'tools/call').filter((x) => x.response.status >= 400);
        assert.equal(bad.length, 0, `rejected first: ${bad.map(brief).join('; ')}`);
      }
      return `Mcp-Param-Region: ${sentinel('Zürich')}`;
    },
  },
  {
    // A fresh session whose first act is the call: no tools/list has told anyone (client or
    // bridge) about `x-mcp-header` yet. Conforming paths: send the header at once, or take the
    // 400/-32020, re-fetch tools/list and retry.
    name: 'x-mcp-header on a cold session',
    async run({ T, since, fresh }) {
      const c2 = await fresh('cold');
      try {
        const r = await c2.callTool({ name: 'lookup', arguments: { region: 'ap-south-1', query: 'cold' } }, T);
        assert.equal(r.isError ?? false, false, JSON.stringify(r));
        assert.equal(JSON.parse(text(r)).header, 'ap-south-1');
        const recs = await since();
        if (!recs) return 'header reached the handler';
        const seq = recs
          .filter((x) => x.body?.method === 'tools/list' || (x.body?.method === 'tools/call' && x.body.arguments?.query === 'cold'))
          .map((x) => `${x.body.method}${x.headers['mcp-param-region'] ? '+Mcp-Param-Region' : ''}→${x.response.status}`);
        return `sequence: ${seq.join(', ')}`;
      } finally {
        await c2.close().catch(() => {});
      }
    },
  },
  {
    name: 'input_required elicitation',
    async run({ c, T, since, elicitations }) {
      const before = elicitations.length;
      const r = await c.callTool({ name: 'confirm', arguments: { action: 'deploy' } }, T);
      assert.equal(r.isError ?? false, false, `tool said: ${text(r)}`);
      assert.equal(text(r), 'confirmed deploy; note=via test; state echoed');
      const asked = elicitations.slice(before);
      assert.equal(asked.length, 1, `elicitation handler ran ${asked.length} times`);
      assert.equal(asked[0].params.message, 'Really deploy?');
      const recs = await since();
      if (recs) {
        const calls = byMethod(recs, 'tools/call').filter((x) => x.body.name === 'confirm');
        assert.equal(calls.length, 2, `expected 2 tools/call confirm, got ${calls.map(brief).join('; ')}`);
        const [first, retry] = calls;
        assert.match(first.response.bodyHead ?? '', /input_required/, `first answer: ${first.response.bodyHead}`);
        assert.equal(first.body.inputResponseKeys, undefined);
        assert.notEqual(first.body.id, retry.body.id, 'the retry reused the request id');
        assert.deepEqual(retry.body.inputResponseKeys, ['confirm']);
        assert.equal(retry.body.requestStateEchoed, true, `requestState: ${JSON.stringify(retry.body.requestState)}`);
      }
      return 'input_required → elicitation answered → retry (new id, inputResponses, requestState echoed) → complete';
    },
  },
  {
    name: 'resources/list',
    async run({ c, T }) {
      const { resources } = await c.listResources(T);
      const uris = resources.map((r) => r.uri);
      for (const want of ['info://about', 'counter://value']) assert.ok(uris.includes(want), `no ${want} in ${uris}`);
      return `${uris.length} resources`;
    },
  },
  {
    name: 'resources/read',
    async run({ c, T, since }) {
      const r = await c.readResource({ uri: 'info://about' }, T);
      assert.equal(r.contents?.[0]?.text, 'modern-test-server: 2026-07-28 only');
      const recs = await since();
      if (recs) assert.equal(byMethod(recs, 'resources/read').at(-1)?.headers['mcp-name'], 'info://about');
      return 'info://about read';
    },
  },
  {
    name: 'prompts/list',
    async run({ c, T }) {
      const { prompts } = await c.listPrompts(T);
      const greet = prompts.find((p) => p.name === 'greet');
      assert.ok(greet, `no greet prompt: ${JSON.stringify(prompts)}`);
      assert.deepEqual(greet.arguments?.map((a) => a.name), ['name']);
      return `${prompts.length} prompt(s)`;
    },
  },
  {
    name: 'prompts/get',
    async run({ c, T, since }) {
      const r = await c.getPrompt({ name: 'greet', arguments: { name: 'Ada' } }, T);
      assert.equal(r.messages?.[0]?.content?.text, 'Hello, Ada!');
      const recs = await since();
      if (recs) assert.equal(byMethod(recs, 'prompts/get').at(-1)?.headers['mcp-name'], 'greet');
      return 'Hello, Ada!';
    },
  },
  {
    name: 'subscriptions/listen → tools/list_changed',
    async run(ctx) {
      const { c, T, since, notes } = ctx;
      const sub = await c.openChanges({ toolsListChanged: true, resourceSubscriptions: ['counter://value'] }, T);
      ctx.shared.sub = sub;
      if (c.era === 'modern') {
        assert.equal(sub.honored.toolsListChanged, true, `honored: ${JSON.stringify(sub.honored)}`);
        assert.deepEqual(sub.honored.resourceSubscriptions, ['counter://value'], `honored: ${JSON.stringify(sub.honored)}`);
      }
      const name = `late_tool_${Date.now()}`;
      await c.callTool({ name: 'add_tool', arguments: { name } }, T);
      await notes.wait((n) => n.method === 'notifications/tools/list_changed', opts.timeout, 'notifications/tools/list_changed');
      const { tools } = await c.listTools(T);
      assert.ok(tools.some((t) => t.name === name), `${name} missing after list_changed`);
      const recs = await since();
      if (recs && c.era === 'modern') {
        const listen = byMethod(recs, 'subscriptions/listen');
        assert.equal(listen.length, 1, `subscriptions/listen POSTs: ${listen.map(brief).join('; ')}`);
        assert.deepEqual(listen[0].body.filter, { toolsListChanged: true, resourceSubscriptions: ['counter://value'] });
      }
      const n = notes.seen.find((x) => x.method === 'notifications/tools/list_changed');
      const subId = n?.params?._meta?.['io.modelcontextprotocol/subscriptionId'];
      return `notification arrived${subId !== undefined ? ` (subscriptionId ${subId})` : ''}; ${name} listed`;
    },
  },
  {
    name: 'subscriptions/listen → resources/updated',
    async run({ c, T, notes, shared }) {
      assert.ok(shared.sub, 'no subscription open (the previous operation failed)');
      await c.callTool({ name: 'bump', arguments: {} }, T);
      const n = await notes.wait(
        (x) => x.method === 'notifications/resources/updated' && x.params?.uri === 'counter://value',
        opts.timeout,
        'notifications/resources/updated counter://value',
      );
      const r = await c.readResource({ uri: 'counter://value' }, T);
      assert.ok(Number(r.contents?.[0]?.text) >= 1, `counter: ${JSON.stringify(r)}`);
      return `updated ${n.params.uri}; counter=${r.contents[0].text}`;
    },
  },
  {
    name: 'subscriptions/listen close',
    eras: ['modern'],
    async run({ shared }) {
      assert.ok(shared.sub, 'no subscription open');
      await shared.sub.close();
      const reason = await withTimeout(shared.sub.closed, opts.timeout, 'subscription closed');
      assert.equal(reason, 'local');
      return `closed: ${reason}`;
    },
  },
  {
    // Abort a running call: on HTTP the 2.x client closes the response stream; over stdio it
    // sends notifications/cancelled, which the bridge must turn into closing the upstream stream.
    name: 'cancellation',
    async run({ c, T }) {
      const startedAt = new Date().toISOString();
      const ac = new AbortController();
      const call = c.callTool({ name: 'count', arguments: { to: 20 } }, { ...T, signal: ac.signal });
      setTimeout(() => ac.abort(new Error('the test cancels')), 150);
      const outcome = await call.then(
        (r) => ({ ok: true, r }),
        (e) => ({ ok: false, e }),
      );
      assert.equal(outcome.ok, false, `the call completed despite the abort: ${JSON.stringify(outcome.r)}`);
      if (!opts.wire) return `call rejected: ${describeError(outcome.e)}`;
      const deadline = Date.now() + 3000;
      let seen;
      while (!seen && Date.now() < deadline) {
        const events = await (await fetch(new URL('/_debug/events', url))).json();
        seen = events.find((e) => e.event === 'cancelled' && e.t >= startedAt);
        if (!seen) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(seen, 'the server handler never saw the cancellation (it counted to the end)');
      return `call rejected locally; server handler stopped at step ${seen.atStep}/20`;
    },
  },
  {
    // Every request the server received while this client ran: the 2026-07-28 envelope and the
    // SEP-2243 standard headers, bearer auth, no session, no legacy methods, no GET/DELETE.
    name: 'wire: 2026-07-28 envelope on every request',
    wire: true,
    async run({ allSince }) {
      const recs = await allSince();
      const problems = [];
      const NAME_METHODS = { 'tools/call': 1, 'resources/read': 1, 'prompts/get': 1 };
      for (const r of recs) {
        const why = [];
        if (r.auth !== 'ok') why.push(`auth ${r.auth}`);
        if (r.sessionIdPresent) why.push('Mcp-Session-Id sent');
        if (r.httpMethod !== 'POST') why.push(`HTTP ${r.httpMethod}`);
        const b = r.body ?? {};
        if (b.batch) why.push('batch');
        // A stateful client's own initialize is how the bridge learns the server's era at
        // no extra cost (issue "Bridge the eras"): refused by this modern-only server, then
        // never sent again by that bridge process.
        if (opts.era === 'legacy' && b.method === 'initialize' && r.response?.status === 400) continue;
        if (b.kind === 'request') {
          if (['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe'].includes(b.method)) why.push(`legacy method ${b.method}`);
          if (r.headers['mcp-protocol-version'] !== MODERN) why.push(`MCP-Protocol-Version=${r.headers['mcp-protocol-version']}`);
          if (r.headers['mcp-method'] !== b.method) why.push(`Mcp-Method=${r.headers['mcp-method']}`);
          if (NAME_METHODS[b.method] && r.headers['mcp-name'] !== b.name) why.push(`Mcp-Name=${r.headers['mcp-name']}`);
          if (b.metaProtocolVersion !== MODERN) why.push(`_meta protocolVersion=${b.metaProtocolVersion}`);
          if (b.metaClientCapabilities === undefined) why.push('_meta clientCapabilities missing');
        }
        if (b.kind === 'notification' && b.method !== 'notifications/cancelled') why.push(`notification ${b.method} POSTed`);
        if (why.length) problems.push(`${brief(r)}: ${why.join(', ')}`);
      }
      assert.equal(problems.length, 0, `${problems.length}/${recs.length} requests off-spec:\n      ${problems.join('\n      ')}`);
      const methods = {};
      for (const r of recs) methods[r.body?.method ?? '?'] = (methods[r.body?.method ?? '?'] ?? 0) + 1;
      return `${recs.length} requests, all conform (${Object.entries(methods).map(([k, v]) => `${k}×${v}`).join(' ')})`;
    },
  },
];

// ---- run -------------------------------------------------------------------------------------
const notes = waiter();
const elicitations = [];
const protocolErrors = [];
let bridgeStderr = '';
if (opts.bridgeLog) writeFileSync(opts.bridgeLog, '');
if (opts.trace) writeFileSync(opts.trace, '');

// A fresh client of the chosen era with its handlers, and a fresh transport (stdio spawns the bridge).
async function session(label) {
  const c = opts.era === 'modern' ? await modernClient() : await legacyClient();
  for (const m of ['notifications/tools/list_changed', 'notifications/resources/updated']) c.onNotification(m, (n) => notes.push(n));
  c.onElicit(async (request) => {
    elicitations.push(request);
    return { action: 'accept', content: { confirm: true, note: 'via test' } };
  });
  c.client.onerror = (e) => protocolErrors.push(describeError(e));
  let transport;
  if (mode === 'direct') {
    transport = c.httpTransport();
  } else {
    transport = c.stdioTransport({
      command: bin,
      args: [url, '--bearer', 'env:MODERN_TOKEN', '--log-level', 'debug'],
      env: { ...process.env, MODERN_TOKEN: TOKEN, NO_COLOR: '1' },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk) => {
      bridgeStderr += chunk;
      if (opts.bridgeLog) appendFileSync(opts.bridgeLog, chunk);
    });
    if (opts.bridgeLog) appendFileSync(opts.bridgeLog, `\n===== ${label}: bridge session process =====\n`);
  }
  if (opts.trace) {
    // Wrap the instance (not a subclass: the 2.x SDK probes on a sibling process only for the
    // exact StdioClientTransport class). The sibling's own traffic is not traced.
    const log = (dir, m) => appendFileSync(opts.trace, JSON.stringify({ t: new Date().toISOString(), session: label, dir, m }) + '\n');
    const send = transport.send.bind(transport);
    transport.send = (m, o) => (log('client→', m), send(m, o));
    let inner;
    Object.defineProperty(transport, 'onmessage', {
      configurable: true,
      get: () => inner,
      set: (h) => {
        inner = h && ((m, extra) => (log('←bridge', m), h(m, extra)));
      },
    });
  }
  return { c, transport };
}

// The server's DiscoverResult fetched by the harness itself, for `connect({ prior })`.
async function discoverDirectly() {
  const r = await fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${TOKEN}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': MODERN,
      'Mcp-Method': 'server/discover',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 'harness-discover',
      method: 'server/discover',
      params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } },
    }),
  });
  const body = await r.json();
  if (!body.result) throw new Error(`server/discover: ${JSON.stringify(body)}`);
  return body.result;
}

const results = [];
function report(name, ok, detail) {
  results.push({ name, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(46)} ${detail}`);
}

// connect: the era handshake (2.x pinned: server/discover — on stdio from a short-lived sibling
// process; 1.x: initialize). If the pinned probe fails through the bridge, retry once with the
// server's DiscoverResult as `prior` (no probe at all) so every operation still gets a verdict.
async function connect(label, prior, quiet = false) {
  const { c, transport } = await session(label);
  const mark = opts.wire ? await wire.mark() : 0;
  const name = prior ? 'connect (retry: prior DiscoverResult, no probe)' : 'connect';
  try {
    await withTimeout(c.connect(transport, prior ? { ...T, prior } : T), opts.timeout + 2000, 'connect');
    const d = c.describe();
    if (c.era === 'modern') {
      assert.equal(d.era, 'modern', `era ${d.era}`);
      assert.ok(d.discover?.supportedVersions?.includes(MODERN), `discover: ${JSON.stringify(d.discover)}`);
    }
    assert.ok(d.caps?.tools, `no tools capability: ${JSON.stringify(d.caps)}`);
    let detail = `${d.era} era, server ${d.server?.name} ${d.server?.version}`;
    if (opts.wire) {
      const recs = await wire.since(mark);
      detail += `; server saw: ${recs.map((r) => `${r.body?.method ?? r.httpMethod}→${r.response?.status}`).join(', ') || 'nothing'}`;
    }
    if (!quiet) report(name, true, detail);
    return c;
  } catch (e) {
    if (quiet) {
      await c.close().catch(() => {});
      throw new Error(`connecting a ${label} session: ${describeError(e)}`);
    }
    let detail = describeError(e);
    if (opts.wire) {
      const recs = await wire.since(mark).catch(() => []);
      detail += `\n      server saw: ${recs.map(brief).join('\n                  ') || 'nothing'}`;
    }
    report(name, false, detail);
    await c.close().catch(() => {});
    return null;
  }
}

const startMark = opts.wire ? await wire.mark() : 0;
const T = { timeout: opts.timeout };
const shared = {};
let c = await connect('probe');
if (!c && mode === 'bridge' && opts.era === 'modern') {
  const discover = await discoverDirectly().catch((e) => (report('harness server/discover', false, describeError(e)), null));
  if (discover) {
    shared.prior = { kind: 'modern', discover };
    c = await connect('prior', shared.prior);
  }
}
const connected = c !== null;

for (const op of operations) {
  if (op.eras && !op.eras.includes(opts.era)) continue;
  if (opts.only && !opts.only.includes(op.name)) continue;
  if (op.wire && !opts.wire) continue;
  if (!connected) {
    report(op.name, false, 'not connected');
    continue;
  }
  const mark = opts.wire ? await wire.mark() : 0;
  const ctx = {
    c,
    T,
    notes,
    elicitations,
    shared,
    since: async () => (opts.wire ? wire.since(mark) : null),
    allSince: async () => wire.since(startMark),
    fresh: (label) => connect(label, shared.prior, true),
  };
  try {
    const detail = await withTimeout(op.run(ctx), opts.timeout + 2000, op.name);
    report(op.name, true, detail);
  } catch (e) {
    let detail = describeError(e);
    if (opts.wire && !op.wire) {
      const recs = await wire.since(mark).catch(() => []);
      if (recs.length) detail += `\n      server saw: ${recs.map(brief).join('\n                  ')}`;
      else detail += '\n      server saw: nothing';
    }
    report(op.name, false, detail);
  }
}

if (protocolErrors.length) report('no SDK protocol errors', false, protocolErrors.slice(0, 5).join(' | '));
if (c) await withTimeout(c.close(), 5000, 'close').catch((e) => report('close', false, describeError(e)));

const failed = results.filter((r) => !r.ok);
console.log(`${mode === 'direct' ? 'direct' : 'via-bridge'} (${opts.era} client): ${results.length - failed.length}/${results.length} ok`);
if (failed.length && mode === 'bridge' && !opts.bridgeLog) {
  console.log('--- bridge stderr (last 60 lines) ---');
  console.log(bridgeStderr.split('\n').slice(-60).join('\n'));
}
process.exit(failed.length ? 1 : 0);
