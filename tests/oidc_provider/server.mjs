// A certified OpenID Connect provider (the `oidc-provider` package) for Halley's single
// sign-on tests. One confidential client, people and their claims from the environment, the
// package's own development sign-in pages (any password), PKCE required.
//
//   PORT=4000 CLIENT_ID=halley CLIENT_SECRET=s REDIRECT_URI=http://127.0.0.1:8050/auth/oidc/callback \
//   USERS='{"alice": {"email": "alice@example.com", "email_verified": true, "groups": ["staff"]}}' \
//   node server.mjs
import Provider from 'oidc-provider';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Error(`${name} is required`);
  return value;
};

const port = Number(env('PORT'));
const issuer = env('ISSUER', `http://localhost:${port}`);
const users = JSON.parse(env('USERS', '{}'));

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('CLIENT_ID'),
    client_secret: env('CLIENT_SECRET'),
    redirect_uris: [env('REDIRECT_URI'), ...(process.env.EXTRA_REDIRECT_URIS || '').split(',').filter(Boolean)],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  cookies: { keys: ['halley-tests-only'] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const claims = users[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening at ${issuer}`);
});
