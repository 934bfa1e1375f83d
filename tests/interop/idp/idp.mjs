// A real OpenID provider for the OAuth interop tests: oidc-provider (npm, OpenID
// certified), with a user who signs in and consents at once, as after clicking "Allow".
//
//   node idp.mjs --port N --resource URL --events FILE --profile strict|permissive
//                [--access-ttl S] [--audience URL] [--no-registration] [--dpop [--dpop-nonce]]
//
// Profiles:
//   strict      configured as oidc-provider's documentation advises for an API: the MCP
//               resource's scope (mcp:tools) is a resource-server scope, not a provider scope
//               (so a registration asking for it is refused), and refresh tokens are issued
//               only for offline_access, which oidc-provider honours only with prompt=consent.
//   permissive  mcp:tools is also a provider scope (a registration may carry it),
//               offline_access is not offered, and every code grant gets a refresh token.
//
// Both: open dynamic registration, PKCE (required), RFC 8707 resource indicators (opaque
// access tokens bound to the one MCP resource; any other resource is invalid_target),
// refresh-token rotation for public clients, introspection (for the resource server) and
// RFC 7009 revocation, and the RFC 8628 device flow (its pages at /device are the provider's
// own: a test approves a user code by submitting them over HTTP, as a person's phone would; the
// login and consent after that are the same auto-approving interaction). A public native client "keybridge-preregistered" exists for
// --client-id. For the error tests: --audience puts another audience in the tokens (a
// misconfigured resource), --no-registration turns dynamic registration off. --dpop turns on
// RFC 9449 (oidc-provider's features.dPoP: a token request with a proof gets DPoP-bound
// tokens, refresh tokens of public clients bound too), --dpop-nonce makes its token endpoint
// require a server nonce; each token reply's token_type is recorded as a "token_type" event.
// Each event ("register", "authorize", "code", "refresh", "revoke", "introspect",
// "device_authorization", "device" for each device-code poll) is appended to FILE as
// "name status". Listens on 127.0.0.1 only.

import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' },
    resource: { type: 'string' },
    events: { type: 'string' },
    profile: { type: 'string', default: 'strict' },
    'access-ttl': { type: 'string', default: '3600' },
    audience: { type: 'string' },
    'no-registration': { type: 'boolean', default: false },
    dpop: { type: 'boolean', default: false },
    'dpop-nonce': { type: 'boolean', default: false },
  },
});
const strict = opt.profile === 'strict';
const issuer = `http://127.0.0.1:${opt.port}`;
const RS_SCOPE = 'mcp:tools';
// The resource server's own client, for introspection.
const RS_CLIENT = { client_id: 'mcp-resource', client_secret: 'rs-secret-for-introspection' };

const event = (name, status) => appendFileSync(opt.events, `${name} ${status}\n`);

const provider = new Provider(issuer, {
  clients: [
    { ...RS_CLIENT, grant_types: [], response_types: [], redirect_uris: [] },
    {
      client_id: 'keybridge-preregistered',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      // Native loopback redirects match on any port (RFC 8252 §7.3).
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
  ],
  scopes: strict ? ['openid', 'offline_access'] : ['openid', RS_SCOPE],
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: !opt['no-registration'] },
    revocation: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: { enabled: true },
    dPoP: {
      enabled: opt.dpop,
      ...(opt['dpop-nonce'] ? { nonceSecret: randomBytes(32), requireNonce: () => true } : {}),
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => oneOf ?? opt.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== opt.resource) {
          throw new Provider.errors.InvalidTarget(`unknown resource ${indicator}`);
        }
        return {
          scope: RS_SCOPE,
          audience: opt.audience ?? opt.resource,
          accessTokenTTL: Number(opt['access-ttl']),
          accessTokenFormat: 'opaque',
        };
      },
    },
  },
  ...(strict
    ? {}
    : { issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token') }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['interop-test-cookie-key'] },
});

// The user: signs in as "alice" and grants whatever the client asked for, at once.
provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!m) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session, grantId } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: 'alice' } };
  } else {
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  }
  const url = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  ctx.status = 303;
  ctx.redirect(url);
});

// Counting, by endpoint and outcome (never a token).
provider.use(async (ctx, next) => {
  await next();
  const ok = ctx.status < 400 ? 'ok' : `error:${ctx.body?.error ?? ctx.status}`;
  if (ctx.method === 'POST' && ctx.path === '/reg') event('register', ok);
  else if (ctx.path === '/auth') event('authorize', `${ok} scope=${ctx.oidc?.params?.scope ?? ''} prompt=${ctx.oidc?.params?.prompt ?? ''}`);
  else if (ctx.path === '/token/revocation') event('revoke', ok);
  else if (ctx.path === '/token/introspection') event('introspect', ok);
  else if (ctx.method === 'POST' && ctx.path === '/device/auth') event('device_authorization', `${ok} scope=${ctx.oidc?.params?.scope ?? ''} resource=${ctx.oidc?.params?.resource ?? ''}`);
  else if (ctx.method === 'POST' && ctx.path === '/token') {
    const grant = ctx.oidc?.params?.grant_type;
    const name = { refresh_token: 'refresh', 'urn:ietf:params:oauth:grant-type:device_code': 'device' }[grant] ?? 'code';
    event(name, `${ok} refresh_token=${Boolean(ctx.body?.refresh_token)}`);
    if (ctx.body?.token_type) event('token_type', ctx.body.token_type);
  }
});

provider.listen(Number(opt.port), '127.0.0.1', () => {
  console.log(`oidc-provider ${opt.profile} listening at ${issuer}`);
});
