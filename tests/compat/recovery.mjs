// Recovery through the bridge, seen by the official TypeScript SDK client (issue 16):
//
//   node recovery.mjs restart BRIDGE_BIN   a TypeScript SDK server on the session example
//        pattern (session_server.mjs) restarts under the open session: it answers the old
//        session id with 400, and the bridge's next call must still succeed (one new session).
//   node recovery.mjs startup BRIDGE_BIN   the bridge starts with an unreadable credential
//        (a file: that does not exist yet): the SDK client's initialize fails with the
//        bridge's error naming the source; once the file exists, initialize succeeds on the
//        same bridge process, without a restart.
//   node recovery.mjs startup-keychain BRIDGE_BIN   the same with an empty keychain entry,
//        fixed by `mcp-keybridge auth set NAME` (run it inside a private keyring: run.sh).
//
// Both start their own session_server.mjs on a free port. Exit 0 on the expected outcome.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const [scenario, bin] = process.argv.slice(2);
if (!['restart', 'startup', 'startup-keychain'].includes(scenario) || !bin) {
  console.error('usage: node recovery.mjs restart|startup|startup-keychain BRIDGE_BIN');
  process.exit(2);
}
const REQUEST = { timeout: 15000 };
const here = dirname(fileURLToPath(import.meta.url));

async function freePort() {
  const srv = createServer();
  await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
  const { port } = srv.address();
  await new Promise((ok) => srv.close(ok));
  return port;
}

// Ready when the port accepts connections (the server prints nothing).
async function startServer(port) {
  const proc = spawn(process.execPath, [join(here, 'session_server.mjs'), String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 20000;
  for (;;) {
    const up = await new Promise((ok) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); ok(true); });
      s.on('error', () => ok(false));
    });
    if (up) return proc;
    assert.ok(Date.now() < deadline, `session_server.mjs did not listen on ${port}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

async function stopServer(proc) {
  const exited = new Promise((ok) => proc.once('exit', ok));
  proc.kill('SIGKILL');
  await exited;
}

// The SDK client closes its transport (killing the bridge) when initialize fails; a client
// application that shows the error and retries keeps the same server process. This keeps
// the one bridge process across clients so the test can prove there was no restart.
class KeptTransport {
  constructor(inner) { this.inner = inner; this.started = false; }
  set onmessage(f) { this.inner.onmessage = f; }
  set onerror(f) { this.inner.onerror = f; }
  set onclose(f) { this.inner.onclose = f; }
  get onmessage() { return this.inner.onmessage; }
  get onerror() { return this.inner.onerror; }
  get onclose() { return this.inner.onclose; }
  async start() { if (!this.started) { this.started = true; await this.inner.start(); } }
  async send(msg, opts) { return this.inner.send(msg, opts); }
  async close() {}
  get pid() { return this.inner.pid; }
}

function bridge(args) {
  // The whole environment: the keychain scenario needs DBUS_SESSION_BUS_ADDRESS.
  const transport = new StdioClientTransport({ command: bin, args: ['--log-level', 'info', ...args], stderr: 'pipe', env: { ...process.env } });
  const log = { text: '' };
  transport.stderr?.on('data', (chunk) => { log.text += chunk; });
  return { transport, log };
}

async function echo(client, text) {
  const result = await client.callTool({ name: 'echo', arguments: { text } }, undefined, REQUEST);
  assert.equal(result.content?.[0]?.text, text, JSON.stringify(result));
}

async function restart(port) {
  let server = await startServer(port);
  const { transport, log } = bridge([`http://127.0.0.1:${port}/mcp`, '--transport', 'streamable-http']);
  const client = new Client({ name: 'keybridge-recovery', version: '0.0.0' });
  try {
    await client.connect(transport, REQUEST);
    await echo(client, 'before');
    await stopServer(server);
    server = await startServer(port);
    await echo(client, 'after the restart');
    await echo(client, 'again');
    assert.match(log.text, /session expired \(HTTP 400\)/, 'the bridge did not renew on the 400');
    return 'the session was renewed after the server restarted (400 for the old id)';
  } catch (e) {
    e.message += `\nbridge stderr:\n${log.text.slice(-3000)}`;
    throw e;
  } finally {
    await client.close();
    await stopServer(server);
  }
}

async function startup(port, keychain) {
  const server = await startServer(port);
  const dir = mkdtempSync(join(tmpdir(), 'keybridge-startup-'));
  const tokenFile = join(dir, 'token');
  const entry = `startup-${randomBytes(4).toString('hex')}`;
  const source = keychain ? `keychain:${entry}` : `file:${tokenFile}`;
  const { transport, log } = bridge([`http://127.0.0.1:${port}/mcp`, '--bearer', source]);
  const kept = new KeptTransport(transport);
  try {
    let error;
    try {
      await new Client({ name: 'keybridge-startup', version: '0.0.0' }).connect(kept, REQUEST);
    } catch (e) {
      error = e;
    }
    assert.ok(error, 'initialize succeeded without a readable credential');
    assert.equal(error.code, -32603, String(error));
    assert.match(error.message, /cannot read the credentials/, error.message);
    assert.ok(error.message.includes(source), error.message);
    if (keychain) assert.ok(error.message.includes(`auth set ${entry}`), error.message);
    const pid = kept.pid;
    assert.ok(pid, 'the bridge exited after the initialize error');

    if (keychain) {
      const set = spawnSync(bin, ['auth', 'set', entry], { input: 'now-readable\n', encoding: 'utf8' });
      assert.equal(set.status, 0, `auth set failed: ${set.stderr}`);
    } else {
      writeFileSync(tokenFile, 'now-readable\n', { mode: 0o600 });
    }
    const client = new Client({ name: 'keybridge-startup', version: '0.0.0' });
    await client.connect(kept, REQUEST);
    await echo(client, 'recovered');
    assert.equal(kept.pid, pid, 'the bridge was restarted');
    return `initialize error (${error.message.split('. ')[0]}), then success on the same process`;
  } catch (e) {
    e.message += `\nbridge stderr:\n${log.text.slice(-3000)}`;
    throw e;
  } finally {
    await transport.close();
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
    if (keychain) spawnSync(bin, ['auth', 'delete', entry]);
  }
}

const port = await freePort();
try {
  const said = await (scenario === 'restart' ? restart(port) : startup(port, scenario === 'startup-keychain'));
  console.error(`recovery ${scenario}: ok: ${said}`);
} catch (e) {
  console.error(`recovery ${scenario}: FAILED: ${e?.stack ?? e}`);
  process.exit(1);
}
