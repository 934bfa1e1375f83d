// Cross-era REAL pairs, TypeScript side: @modelcontextprotocol/client 2.x PINNED to 2026-07-28
// (stateless, no initialize) over stdio through mcp-keybridge to a STATEFUL server, so that the
// bridge translates: it holds a session for the client, answers server/discover itself, and
// turns the server's elicitation/create and sampling/createMessage during a call into an
// input_required result whose retry it answers.
//
//   node pairs.mjs --target py-legacy --via-bridge BIN URL [options]   → tests/modern/py_legacy_server.py
//   node pairs.mjs --target seed      --via-bridge BIN URL [options]   → tests/compat/seed_server.py
//   node pairs.mjs --target py-legacy --direct URL         [options]   the reference: the same 2.x
//        client in its default 2025 (initialize) mode straight over HTTP, same operations — it
//        proves the server and the checks right (there is no direct pinned run: a 2026-07-28-only
//        client cannot talk to a stateful-only server without a translator).
//
// Options: --timeout MS (bound per operation, default 15000), --bridge-log FILE, --trace FILE,
//          --bridge-arg ARG (repeatable: extra arguments for the bridge, e.g. --protocol legacy).
//
// One line per operation: `ok   name  detail`, `FAIL name  reason`, or `INFO name  detail` for
// an operation marked `soft` (reported, not required; none is today). Exit 1 if any FAILed.
import { appendFileSync, writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { DiscoverResultSchema } from '@modelcontextprotocol/core';
import { spawn } from 'node:child_process';

const argv = process.argv.slice(2);
const opts = { target: null, timeout: 15000, bridgeLog: null, trace: null, bridgeArgs: [] };
let mode;
let bin;
let url;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--direct') (mode = 'direct'), (url = argv[++i]);
  else if (a === '--via-bridge') (mode = 'bridge'), (bin = argv[++i]), (url = argv[++i]);
  else if (a === '--target') opts.target = argv[++i];
  else if (a === '--timeout') opts.timeout = Number(argv[++i]);
  else if (a === '--bridge-log') opts.bridgeLog = argv[++i];
  else if (a === '--trace') opts.trace = argv[++i];
  else if (a === '--bridge-arg') opts.bridgeArgs.push(argv[++i]);
  else usage(`unknown argument ${a}`);
}
function usage(msg) {
  console.error(`pairs.mjs: ${msg}\nusage: node pairs.mjs --target py-legacy|seed (--via-bridge BIN URL | --direct URL) [--timeout MS] [--bridge-log FILE] [--trace FILE] [--bridge-arg ARG]...`);
  process.exit(2);
}
if (!mode || !url) usage('need --via-bridge BIN URL or --direct URL');
if (!['py-legacy', 'seed'].includes(opts.target)) usage(`bad --target ${opts.target}`);
const MODERN = '2026-07-28';
const pinned = mode === 'bridge';

// ---- helpers -------------------------------------------------------------------------------
const oneLine = (s) => String(s).replace(/\s+/g, ' ').slice(0, 600);
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
const text = (result) => result?.content?.find((c) => c.type === 'text')?.text;

// The server's request log (py_legacy_server.py only).
const wire = {
  enabled: opts.target === 'py-legacy',
  async all() {
    const r = await fetch(new URL('/_debug/requests', url));
    if (!r.ok) throw new Error(`/_debug/requests answered ${r.status}`);
    return r.json();
  },
  async mark() {
    if (!this.enabled) return 0;
    const all = await this.all();
    return all.length ? all.at(-1).seq : 0;
  },
  async since(mark) {
    return this.enabled ? (await this.all()).filter((r) => r.seq > mark) : null;
  },
};
const brief = (r) =>
  `#${r.seq} ${r.httpMethod} ${r.body?.kind ?? '-'} ${r.body?.method ?? ''}${r.body?.name ? ` ${r.body.name}` : ''} → ${r.status} ` +
  `[ver=${r.headers['mcp-protocol-version'] ?? '∅'}${r.headerRemoved ? ' (removed)' : ''} session=${r.headers['mcp-session-id'] ? 'yes' : 'no'}]`;

// Every stdio message client⇄bridge, kept in memory (and in --trace FILE): the proof that the
// bridge, not the client, did the translating (an input_required result reached the client).
const stdio = [];
function traced(transport, label) {
  const log = (dir, m) => {
    stdio.push({ dir, m, label });
    if (opts.trace) appendFileSync(opts.trace, JSON.stringify({ t: new Date().toISOString(), session: label, dir, m }) + '\n');
  };
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
  return transport;
}
// The stdio exchange of one request method since index `from`: requests sent and the bridge's answers.
function exchanges(from, method, pred = () => true) {
  const sent = stdio.slice(from).filter((x) => x.dir === 'client→' && x.m.method === method && pred(x.m));
  return sent.map((s) => ({ req: s.m, res: stdio.slice(from).find((x) => x.dir === '←bridge' && x.m.id === s.m.id && !x.m.method)?.m }));
}

// ---- the client ----------------------------------------------------------------------------
const elicitations = [];
const samplings = [];
const notes = [];
const protocolErrors = [];
let bridgeStderr = '';
if (opts.bridgeLog) writeFileSync(opts.bridgeLog, '');
if (opts.trace) writeFileSync(opts.trace, '');

function makeClient() {
  const client = new Client(
    { name: 'keybridge-pairs-test', version: '0.0.0' },
    {
      capabilities: { elicitation: { form: {} }, sampling: {} },
      ...(pinned ? { versionNegotiation: { mode: { pin: MODERN } } } : {}),
    },
  );
  client.setRequestHandler('elicitation/create', async (request) => {
    elicitations.push(request);
    return { action: 'accept', content: { answer: 'blue' } };
  });
  client.setRequestHandler('sampling/createMessage', async (request) => {
    samplings.push(request);
    return { model: 'keybridge-test-model', role: 'assistant', content: { type: 'text', text: 'forty-two' }, stopReason: 'endTurn' };
  });
  for (const m of ['notifications/tools/list_changed', 'notifications/resources/list_changed', 'notifications/prompts/list_changed']) {
    client.setNotificationHandler(m, (n) => notes.push({ at: Date.now(), ...n }));
  }
  client.onerror = (e) => protocolErrors.push(describeError(e));
  return client;
}

function makeTransport() {
  if (mode === 'direct') return traced(new StreamableHTTPClientTransport(new URL(url)), 'direct');
  const transport = new StdioClientTransport({
    command: bin,
    args: [url, '--log-level', 'debug', ...opts.bridgeArgs],
    env: { ...process.env, NO_COLOR: '1' },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk) => {
    bridgeStderr += chunk;
    if (opts.bridgeLog) appendFileSync(opts.bridgeLog, chunk);
  });
  // Not a subclass: the 2.x SDK runs its stdio probe on a sibling process only for the exact
  // StdioClientTransport class (that sibling's traffic is not traced).
  return traced(transport, 'bridge');
}

// ---- the operations ------------------------------------------------------------------------
// Each: { name, soft?: true (reported as INFO, never fails the run), run(ctx) → detail }.
const T = { timeout: opts.timeout };
const listOpts = pinned ? { ...T, cacheMode: 'refresh' } : T;

// In a bridged (pinned) run the answer the client got must be a 2026-07-28 result.
function assertModernResult(res, what, { cache = false } = {}) {
  if (!pinned) return '';
  assert.ok(res, `no answer to ${what} in the stdio trace`);
  assert.ok(res.result, `${what}: ${JSON.stringify(res).slice(0, 300)}`);
  assert.equal(res.result.resultType, 'complete', `${what} result has no resultType "complete": ${JSON.stringify(res.result).slice(0, 300)}`);
  if (cache) {
    assert.equal(typeof res.result.ttlMs, 'number', `${what} result has no ttlMs: ${JSON.stringify(res.result).slice(0, 300)}`);
    assert.ok(['public', 'private'].includes(res.result.cacheScope), `${what} result has no cacheScope: ${JSON.stringify(res.result).slice(0, 300)}`);
    return `; resultType=complete ttlMs=${res.result.ttlMs} cacheScope=${res.result.cacheScope}`;
  }
  return '; resultType=complete';
}

// The input round of a bridged call: the first answer input_required with exactly one
// inputRequest of `method`, a retry under a new id with inputResponses and the requestState echoed.
function assertInputRound(from, toolName, method) {
  const calls = exchanges(from, 'tools/call', (m) => m.params?.name === toolName);
  assert.equal(calls.length, 2, `expected the call and one retry on stdio, got ${calls.length}: ${JSON.stringify(calls).slice(0, 600)}`);
  const [first, retry] = calls;
  const r1 = first.res?.result;
  assert.equal(r1?.resultType, 'input_required', `first answer: ${JSON.stringify(first.res).slice(0, 400)}`);
  const keys = Object.keys(r1.inputRequests ?? {});
  assert.equal(keys.length, 1, `inputRequests: ${JSON.stringify(r1.inputRequests)}`);
  assert.equal(r1.inputRequests[keys[0]].method, method, `inputRequests: ${JSON.stringify(r1.inputRequests)}`);
  assert.notEqual(retry.req.id, first.req.id, 'the retry reused the request id');
  assert.deepEqual(Object.keys(retry.req.params?.inputResponses ?? {}), keys, `retry inputResponses: ${JSON.stringify(retry.req.params?.inputResponses)}`);
  assert.equal(retry.req.params?.requestState, r1.requestState, 'requestState not echoed');
  assert.equal(retry.res?.result?.resultType, 'complete', `retry answer: ${JSON.stringify(retry.res).slice(0, 400)}`);
  const raw = stdio.slice(from).filter((x) => x.dir === '←bridge' && x.m.method === method);
  assert.equal(raw.length, 0, `the bridge ALSO sent a raw ${method} request to the stateless client`);
  return `input_required{${keys[0]}: ${method}}${r1.requestState !== undefined ? ' + requestState' : ''} → retry (new id, inputResponses, state echoed) → complete`;
}

const pyOps = [
  {
    name: 'tools/list',
    async run({ from }) {
      const { tools } = await c.listTools(undefined, listOpts);
      const names = tools.map((t) => t.name);
      for (const want of ['echo', 'progress', 'ask', 'sample', 'add_tool']) assert.ok(names.includes(want), `no ${want} in ${names}`);
      return `${names.length} tools: ${names.join(', ')}` + assertModernResult(exchanges(from, 'tools/list').at(-1)?.res, 'tools/list', { cache: true });
    },
  },
  {
    name: 'tools/call echo',
    async run({ from, since }) {
      const msg = 'héllo 👋 "quoted"\nline2';
      const r = await c.callTool({ name: 'echo', arguments: { text: msg } }, T);
      assert.equal(r.isError ?? false, false, JSON.stringify(r));
      assert.equal(text(r), msg);
      const recs = await since();
      if (recs && pinned) {
        const call = recs.find((x) => x.body?.method === 'tools/call' && x.body.name === 'echo');
        assert.ok(call, `server saw no tools/call echo: ${recs.map(brief).join('; ')}`);
        assert.ok(call.headers['mcp-session-id'], `tools/call without Mcp-Session-Id: ${brief(call)}`);
      }
      return 'text round-tripped' + assertModernResult(exchanges(from, 'tools/call').at(-1)?.res, 'tools/call');
    },
  },
  {
    name: 'progress',
    async run() {
      const updates = [];
      const r = await c.callTool({ name: 'progress', arguments: { steps: 3 } }, { ...T, onprogress: (p) => updates.push(p) });
      assert.equal(text(r), 'finished 3 steps', JSON.stringify(r));
      assert.deepEqual(updates.map((u) => u.progress), [1, 2, 3], `progress: ${JSON.stringify(updates)}`);
      assert.deepEqual(updates.map((u) => u.message), ['step 1', 'step 2', 'step 3']);
      return '3 notifications/progress, in order, before the result';
    },
  },
  {
    name: 'elicitation round trip',
    async run({ from, since }) {
      const before = elicitations.length;
      const r = await c.callTool({ name: 'ask', arguments: { question: 'Favourite colour?' } }, T);
      assert.equal(text(r), 'answer: blue', JSON.stringify(r));
      const asked = elicitations.slice(before);
      assert.equal(asked.length, 1, `elicitation handler ran ${asked.length} times`);
      assert.equal(asked[0].params.message, 'Favourite colour?');
      let detail = 'handler answered once; tool got "blue"';
      if (pinned) detail += '; ' + assertInputRound(from, 'ask', 'elicitation/create');
      const recs = await since();
      if (recs) {
        const replies = recs.filter((x) => x.body?.kind === 'response');
        assert.equal(replies.length, 1, `server got ${replies.length} client responses: ${recs.map(brief).join('; ')}`);
        assert.ok(replies[0].status < 300, `server refused the elicitation reply: ${brief(replies[0])}`);
        const calls = recs.filter((x) => x.body?.method === 'tools/call');
        assert.equal(calls.length, 1, `the server saw ${calls.length} tools/call (the retry must not reach it): ${calls.map(brief).join('; ')}`);
      }
      return detail;
    },
  },
  {
    name: 'sampling round trip',
    async run({ from, since }) {
      const before = samplings.length;
      const r = await c.callTool({ name: 'sample', arguments: { prompt: 'What is six times seven?' } }, T);
      assert.equal(text(r), 'model keybridge-test-model said: forty-two', JSON.stringify(r));
      const asked = samplings.slice(before);
      assert.equal(asked.length, 1, `sampling handler ran ${asked.length} times`);
      assert.equal(asked[0].params.messages?.[0]?.content?.text, 'What is six times seven?');
      let detail = 'handler answered once; tool got the model\'s text';
      if (pinned) detail += '; ' + assertInputRound(from, 'sample', 'sampling/createMessage');
      const recs = await since();
      if (recs) {
        const calls = recs.filter((x) => x.body?.method === 'tools/call');
        assert.equal(calls.length, 1, `the server saw ${calls.length} tools/call: ${calls.map(brief).join('; ')}`);
      }
      return detail;
    },
  },
  {
    name: 'resources/list',
    async run({ from }) {
      const { resources } = await c.listResources(undefined, listOpts);
      const uris = resources.map((r) => r.uri);
      assert.ok(uris.includes('test://greeting'), `no test://greeting in ${uris}`);
      return `${uris.length} resource(s)` + assertModernResult(exchanges(from, 'resources/list').at(-1)?.res, 'resources/list', { cache: true });
    },
  },
  {
    name: 'resources/read',
    async run({ from }) {
      const r = await c.readResource({ uri: 'test://greeting' }, listOpts);
      assert.equal(r.contents?.[0]?.text, 'hello from the python legacy server');
      return 'test://greeting read' + assertModernResult(exchanges(from, 'resources/read').at(-1)?.res, 'resources/read', { cache: true });
    },
  },
  {
    name: 'prompts/list',
    async run({ from }) {
      const { prompts } = await c.listPrompts(undefined, listOpts);
      const greet = prompts.find((p) => p.name === 'greet');
      assert.ok(greet, `no greet prompt: ${JSON.stringify(prompts)}`);
      assert.deepEqual(greet.arguments?.map((a) => a.name), ['name']);
      return `${prompts.length} prompt(s)` + assertModernResult(exchanges(from, 'prompts/list').at(-1)?.res, 'prompts/list', { cache: true });
    },
  },
  {
    name: 'prompts/get',
    async run({ from }) {
      const r = await c.getPrompt({ name: 'greet', arguments: { name: 'Ada' } }, T);
      assert.equal(r.messages?.[0]?.content?.text, 'Hello, Ada!', JSON.stringify(r));
      return 'Hello, Ada!' + assertModernResult(exchanges(from, 'prompts/get').at(-1)?.res, 'prompts/get');
    },
  },
  {
    // A stateless client hears of changes only through subscriptions/listen: the bridge
    // acknowledges it from the stateful server's capabilities and routes the session's
    // list_changed notifications to it (the client's handlers get them).
    name: 'subscriptions/listen',
    async run({ shared }) {
      if (!pinned) return 'not needed: a 2025 session gets change notifications unsolicited';
      shared.subscription = await c.listen({ toolsListChanged: true }, T);
      const honored = shared.subscription.honoredFilter ?? {};
      assert.equal(honored.toolsListChanged, true, `acknowledged ${JSON.stringify(honored)}`);
      return `acknowledged ${JSON.stringify(honored)}`;
    },
  },
  {
    name: 'add_tool → listed by tools/list',
    async run({ shared }) {
      shared.added = `late_tool_${Date.now()}`;
      shared.addedAt = Date.now();
      const r = await c.callTool({ name: 'add_tool', arguments: { name: shared.added } }, T);
      assert.equal(text(r), `added ${shared.added}`, JSON.stringify(r));
      const { tools } = await c.listTools(undefined, listOpts);
      assert.ok(tools.some((t) => t.name === shared.added), `${shared.added} missing from tools/list`);
      const r2 = await c.callTool({ name: shared.added, arguments: {} }, T);
      assert.equal(text(r2), `I am ${shared.added}`, JSON.stringify(r2));
      return `${shared.added} listed and callable`;
    },
  },
  {
    // The server sends notifications/tools/list_changed on its session (GET stream): a
    // stateless client gets it through its listen, with the subscriptionId.
    name: 'tools/list_changed notification',
    async run({ shared }) {
      assert.ok(shared.added, 'add_tool did not run');
      const deadline = Date.now() + 3000;
      while (!notes.some((n) => n.method === 'notifications/tools/list_changed' && n.at >= shared.addedAt) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const n = notes.find((x) => x.method === 'notifications/tools/list_changed' && x.at >= shared.addedAt);
      const raw = stdio.filter((x) => x.dir === '←bridge' && x.m.method === 'notifications/tools/list_changed');
      assert.ok(n, `no notifications/tools/list_changed within 3 s of add_tool (on stdio: ${raw.length} such message(s))`);
      return `arrived${n.params?._meta?.['io.modelcontextprotocol/subscriptionId'] !== undefined ? ' with a subscriptionId' : ' (unsolicited, no subscriptionId)'}`;
    },
  },
  {
    // What the stateful server saw: one session, opened by the bridge with the client's identity
    // and capabilities, every later request on it.
    name: 'wire: one session held for the client',
    bridgeOnly: true,
    async run({ allSince }) {
      const recs = await allSince();
      const inits = recs.filter((x) => x.body?.method === 'initialize');
      assert.ok(inits.length >= 1, `the server saw no initialize: ${recs.map(brief).join('; ')}`);
      const init = inits.at(-1).body.initialize;
      assert.equal(init.clientInfo?.name, 'keybridge-pairs-test', `initialize clientInfo: ${JSON.stringify(init.clientInfo)}`);
      assert.ok(init.capabilities?.elicitation && init.capabilities?.sampling, `initialize capabilities: ${JSON.stringify(init.capabilities)}`);
      const after = recs.filter((x) => x.seq > inits.at(-1).seq && x.httpMethod === 'POST');
      const noSession = after.filter((x) => !x.headers['mcp-session-id']);
      assert.equal(noSession.length, 0, `POSTs after initialize without a session: ${noSession.map(brief).join('; ')}`);
      const ids = new Set(after.map((x) => x.headers['mcp-session-id']));
      assert.equal(ids.size, 1, `sessions used: ${[...ids].join(', ')}`);
      const bad = recs.filter((x) => x.status >= 400 && x.body?.method !== 'server/discover');
      const before = recs.filter((x) => x.seq < inits.at(-1).seq).map(brief);
      return `${recs.length} requests: ${inits.length} initialize (protocolVersion ${init.protocolVersion}), ${after.length} POSTs on one session` +
        (before.length ? `; before it: ${before.join(', ')}` : '') +
        (bad.length ? `; other 4xx: ${bad.map(brief).join(', ')}` : '');
    },
  },
];

const seedOps = [
  {
    name: 'tools/list',
    async run({ from }) {
      const { tools } = await c.listTools(undefined, listOpts);
      const names = tools.map((t) => t.name);
      for (const want of ['echo', 'add', 'auth_source']) assert.ok(names.includes(want), `no ${want} in ${names}`);
      return `${names.length} tools: ${names.join(', ')}` + assertModernResult(exchanges(from, 'tools/list').at(-1)?.res, 'tools/list', { cache: true });
    },
  },
  {
    name: 'tools/call echo',
    async run({ from }) {
      const msg = 'héllo 👋 "seed"';
      const r = await c.callTool({ name: 'echo', arguments: { text: msg } }, T);
      assert.equal(text(r), msg, JSON.stringify(r));
      return 'text round-tripped' + assertModernResult(exchanges(from, 'tools/call').at(-1)?.res, 'tools/call');
    },
  },
  {
    name: 'tools/call add',
    async run() {
      const r = await c.callTool({ name: 'add', arguments: { a: 2, b: 40 } }, T);
      assert.equal(text(r), '42', JSON.stringify(r));
      return '2 + 40 = 42';
    },
  },
  {
    name: 'resources/list',
    async run({ from }) {
      const { resources } = await c.listResources(undefined, listOpts);
      const uris = resources.map((r) => r.uri);
      assert.ok(uris.includes('jira://issues'), `no jira://issues in ${uris}`);
      return `${uris.length} resource(s)` + assertModernResult(exchanges(from, 'resources/list').at(-1)?.res, 'resources/list', { cache: true });
    },
  },
  {
    name: 'no id:null or unknown-id message reached the client',
    async run() {
      const stray = stdio.filter((x) => x.dir === '←bridge' && !x.m.method && (x.m.id === null || !stdio.some((y) => y.dir === 'client→' && y.m.id === x.m.id)));
      assert.equal(stray.length, 0, `stray replies: ${JSON.stringify(stray.map((x) => x.m)).slice(0, 400)}`);
      return `${stdio.filter((x) => x.dir === '←bridge').length} messages from the bridge, all answers to the client's requests or notifications`;
    },
  },
];

// ---- run -----------------------------------------------------------------------------------
const results = [];
function report(name, status, detail) {
  results.push({ name, status, detail });
  console.log(`${status.padEnd(4)} ${name.padEnd(48)} ${detail}`);
}

const label = `${mode === 'direct' ? 'direct' : 'via-bridge'} (TS 2.x client${pinned ? ' pinned 2026-07-28' : ', 2025 handshake'} → ${opts.target})`;
const startMark = await wire.mark().catch(() => 0);
const wantServer = opts.target === 'seed' ? 'mcp-jira-confluence' : 'keybridge-py-legacy-server';
async function connect(prior) {
  const client = makeClient();
  const name = prior ? 'connect (retry: prior DiscoverResult, no probe)' : 'connect';
  try {
    const transport = makeTransport();
    if (opts.bridgeLog) appendFileSync(opts.bridgeLog, `\n===== ${prior ? 'retry' : 'first'}: bridge session process =====\n`);
    await withTimeout(client.connect(transport, prior ? { ...T, prior } : T), opts.timeout + 2000, 'connect');
    const era = client.getProtocolEra?.();
    const caps = client.getServerCapabilities();
    if (pinned) {
      assert.equal(era, 'modern', `era ${era}`);
      const d = client.getDiscoverResult();
      assert.ok(d?.supportedVersions?.includes(MODERN), `server/discover: ${JSON.stringify(d)}`);
    }
    assert.ok(caps?.tools, `no tools capability: ${JSON.stringify(caps)}`);
    const server = client.getServerVersion();
    if (!prior) assert.equal(server?.name, wantServer, `server info: ${JSON.stringify(server)}`);
    report(name, 'ok', prior
      ? `${era} era from a minimal DiscoverResult made by the harness (the bridge's own was refused above)`
      : `${era ?? 'legacy'} era, server ${server?.name} ${server?.version}, capabilities ${Object.keys(caps).join(',')}`);
    return client;
  } catch (e) {
    let detail = describeError(e);
    if (pinned && !prior) detail += `\n      ${await probeByHand()}`;
    report(name, 'FAIL', detail);
    await client.close().catch(() => {});
    return null;
  }
}

// What the bridge answers a server/discover probe (as the SDK's sibling process sends it), and
// whether the SDK's own DiscoverResultSchema accepts that answer: the diagnosis of a failed connect.
async function probeByHand() {
  const child = spawn(bin, [url, ...opts.bridgeArgs], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, NO_COLOR: '1' } });
  const line = new Promise((resolve) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')));
    });
    child.on('exit', () => resolve(buf || '(no answer)'));
  });
  child.stdin.write(JSON.stringify({
    jsonrpc: '2.0', id: 'by-hand', method: 'server/discover',
    params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'by-hand', version: '0' } } },
  }) + '\n');
  child.stdin.end();
  const answer = await withTimeout(line, opts.timeout, 'server/discover by hand').catch((e) => `(${e.message})`);
  setTimeout(() => child.kill(), 2000).unref();
  let verdict = '';
  try {
    const parsed = DiscoverResultSchema.safeParse(JSON.parse(answer).result);
    verdict = parsed.success ? 'the SDK schema accepts it' : `the SDK's DiscoverResultSchema rejects it: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
  } catch {
    verdict = 'not a JSON-RPC result';
  }
  return `the bridge answers server/discover with ${oneLine(answer)}\n      → ${verdict}`;
}
let c = await connect(null);
// As client.mjs does: if the pinned probe fails through the bridge, `connect` stays FAILed and
// the operations still get a verdict over a connection that skips the probe.
if (!c && pinned) {
  c = await connect({
    kind: 'modern',
    discover: { supportedVersions: [MODERN], capabilities: { tools: {}, resources: {}, ...(opts.target === 'seed' ? {} : { prompts: {} }) } },
  });
}
const connected = c !== null;

const shared = {};
for (const op of opts.target === 'seed' ? seedOps : pyOps) {
  if (op.bridgeOnly && !pinned) continue;
  if (!connected) {
    report(op.name, 'FAIL', 'not connected');
    continue;
  }
  const mark = await wire.mark().catch(() => 0);
  const ctx = { from: stdio.length, shared, since: () => wire.since(mark), allSince: () => wire.since(startMark) };
  try {
    const detail = await withTimeout(op.run(ctx), opts.timeout + 2000, op.name);
    report(op.name, 'ok', detail);
  } catch (e) {
    let detail = describeError(e);
    if (op.soft) detail += '  [not translated yet: reported, not required]';
    else if (wire.enabled) {
      const recs = await wire.since(mark).catch(() => []);
      detail += `\n      server saw: ${recs.map(brief).join('\n                  ') || 'nothing'}`;
    }
    report(op.name, op.soft ? 'INFO' : 'FAIL', detail);
  }
}

if (protocolErrors.length) report('no SDK protocol errors', 'FAIL', protocolErrors.slice(0, 5).join(' | '));
if (c) await withTimeout(c.close(), 5000, 'close').catch((e) => report('close', 'FAIL', describeError(e)));

const failed = results.filter((r) => r.status === 'FAIL');
const info = results.filter((r) => r.status === 'INFO');
console.log(`${label}: ${results.length - failed.length - info.length}/${results.length - info.length} ok` + (info.length ? `, ${info.length} reported only (INFO)` : ''));
if (failed.length && mode === 'bridge' && !opts.bridgeLog) {
  console.log('--- bridge stderr (last 60 lines) ---');
  console.log(bridgeStderr.split('\n').slice(-60).join('\n'));
}
process.exit(failed.length ? 1 : 0);
