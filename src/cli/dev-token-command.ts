import jwt from 'jsonwebtoken';
import { CommandError, gatewayConfig, parseOptions, UsageError, type Command } from './command';

const DEFAULT_TTL_SECONDS = 3600;
const MAX_TTL_SECONDS = 30 * 24 * 3600;

const HELP = `Usage: herald dev-token --user USER [--ttl SECONDS]

Prints a client JWT for USER (its "sub"), signed HS256 with the gateway's JWT_SECRET: in local
mode the development secret, so a client app or curl can register devices at once. The token is
the only thing printed, so it can be captured: TOKEN=$(herald dev-token --user alice).

Options:
  --user USER      the user the token speaks for (required)
  --ttl SECONDS    how long it stays valid (default ${DEFAULT_TTL_SECONDS})
  -h, --help       this help

It refuses when NODE_ENV=production, and when the gateway checks tokens with JWT_PUBLIC_KEY or
JWT_JWKS_URI (those tokens come from your identity provider). JWT_ISSUER and JWT_AUDIENCE, when
set, go into the token as iss and aud.
`;

export const devTokenCommand: Command = {
  name: 'dev-token',
  summary: 'print a client JWT for a user (local development)',
  help: HELP,
  async run(args, context) {
    const { values } = parseOptions(args, { user: { type: 'string' }, ttl: { type: 'string' } });
    if (values.help) {
      context.stdout(HELP);
      return 0;
    }
    const user = values.user?.trim();
    if (!user) throw new UsageError('--user is required, such as --user alice');
    if (user.length > 255) throw new UsageError('--user must be at most 255 characters');
    const ttl = values.ttl === undefined ? DEFAULT_TTL_SECONDS : Number(values.ttl);
    if (!/^\d+$/.test(values.ttl ?? '1') || ttl < 1 || ttl > MAX_TTL_SECONDS) {
      throw new UsageError(`--ttl must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`);
    }

    if (context.env.NODE_ENV === 'production') {
      throw new CommandError('dev-token is for development; it refuses NODE_ENV=production');
    }
    const config = gatewayConfig(context.env);
    const key = config.jwt.key;
    if (key?.kind !== 'secret') {
      throw new CommandError(
        'the gateway checks JWTs with JWT_PUBLIC_KEY or JWT_JWKS_URI, whose private key Herald ' +
          'does not have; get a token from your identity provider',
      );
    }

    const token = jwt.sign({ sub: user }, key.secret, {
      algorithm: 'HS256',
      expiresIn: ttl,
      ...(config.jwt.issuer === undefined ? {} : { issuer: config.jwt.issuer }),
      ...(config.jwt.audience === undefined ? {} : { audience: config.jwt.audience }),
    });
    context.stdout(`${token}\n`);
    return 0;
  },
};
