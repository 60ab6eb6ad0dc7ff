// sandvm config eval examples/typescript/app.config.ts --env STAGE=prod
interface Env {
  STAGE?: string;
}
type Config = { stage: string; port: number; debug: boolean };

export default (env: Env): Config => ({
  stage: env.STAGE ?? "dev",
  port: 8080,
  debug: (env.STAGE ?? "dev") !== "prod",
});
