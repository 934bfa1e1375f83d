// A Streamable HTTP server on the TypeScript SDK's session example pattern (the SDK README's
// "with session management", which server-everything follows): one transport per session in
// a map; a request whose Mcp-Session-Id is not in the map — after a restart, every one — gets
// 400 "Bad Request: No valid session ID provided", not the spec's 404.
//
//   node session_server.mjs PORT
//
// Listens on 127.0.0.1; prints nothing on stdout (ready = the port accepts connections).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
    CallToolRequestSchema,
    ListToolsRequestSchema,
    isInitializeRequest,
} from '@modelcontextprotocol/sdk/types.js';

const port = Number(process.argv[2]);
const transports = {};

function mcpServer() {
    const server = new Server({ name: 'ts-session-server', version: '0.0.1' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: [{
            name: 'echo',
            description: 'Return the text unchanged.',
            inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        }],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (req) => ({
        content: [{ type: 'text', text: String(req.params.arguments?.text ?? '') }],
    }));
    return server;
}

function noSession(res) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Bad Request: No valid session ID provided' },
        id: null,
    }));
}

async function readJson(req) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

createServer(async (req, res) => {
    try {
        const sessionId = req.headers['mcp-session-id'];
        if (req.method !== 'POST') {
            // GET (server stream) and DELETE: only for a known session.
            if (!sessionId || !transports[sessionId]) return noSession(res);
            return await transports[sessionId].handleRequest(req, res);
        }
        const body = await readJson(req);
        if (sessionId && transports[sessionId]) {
            return await transports[sessionId].handleRequest(req, res, body);
        }
        if (!sessionId && isInitializeRequest(body)) {
            const transport = new StreamableHTTPServerTransport({
                sessionIdGenerator: () => randomUUID(),
                onsessioninitialized: (id) => { transports[id] = transport; },
            });
            transport.onclose = () => { if (transport.sessionId) delete transports[transport.sessionId]; };
            await mcpServer().connect(transport);
            return await transport.handleRequest(req, res, body);
        }
        return noSession(res);
    } catch (e) {
        console.error('session_server:', e);
        if (!res.headersSent) { res.writeHead(500); res.end(); }
    }
}).listen(port, '127.0.0.1');
