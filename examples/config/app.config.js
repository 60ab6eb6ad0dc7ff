// A config file evaluated in the sandbox: it sees only the `env` the host passes
// (`sandvm config eval app.config.js --env STAGE`), no process, no file system.
import { defaults } from './defaults.js';

export default (env) => {
  const stage = env.STAGE ?? 'dev';
  return {
    name: 'shop',
    stage,
    server: { ...defaults.server, port: Number(env.PORT ?? defaults.server.port) },
    replicas: stage === 'prod' ? 3 : 1,
    features: ['search', 'cart', ...(stage === 'prod' ? [] : ['debug-toolbar'])],
    database: { url: `postgres://db.${stage}.internal/shop`, pool: stage === 'prod' ? 20 : 5 },
  };
};
