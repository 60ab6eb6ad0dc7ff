export const defaults = { server: { host: '0.0.0.0', port: 8080, timeout_ms: 30000 } };
