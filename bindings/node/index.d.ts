// Type definitions for the npm package `sandvm` (sandvm for Node.js).

/** The contract's error kinds (see the Rust crate's `Error::kind`), plus `disposed` and `unknown_tenant`. */
export type ErrorKind =
  | 'timeout' | 'memory_limit' | 'stack_overflow' | 'output_limit' | 'job_limit' | 'syntax' | 'exception'
  | 'cancelled' | 'unsettled' | 'module_not_found' | 'module_not_allowed' | 'host' | 'saturated'
  | 'disposed' | 'unknown_tenant' | (string & {});

/** An error from a sandbox run. Guest exceptions keep the guest's `name`, `message`, `stack`, `line`, `column`. */
export class SandboxError extends Error {
  readonly kind: ErrorKind;
  readonly line?: number;
  readonly column?: number;
}

export interface SandboxOptions {
  /** Wall-clock ms per run, awaited host calls and microtasks included. Default 1000. */
  timeout?: number;
  /** Engine heap in MB. Default 64. */
  memoryLimit?: number;
  /** Engine stack in KB (clamped to 32 KB..8 MB). Default 256. */
  stackSize?: number;
  /** Bytes of console output plus completion value per run. Default 1 MiB. */
  maxOutput?: number;
  /** Capability packs to grant: 'timers', 'text-encoding', 'base64', 'url', 'structured-clone', 'queue-microtask', 'all'. Default none. */
  capabilities?: string[];
  /** Freeze every intrinsic before guest code runs. Default false. */
  freeze?: boolean;
  /** Deterministic clock and Math.random. Default false. */
  deterministic?: boolean | { seed?: number };
  /** Module policy: in-memory sources, a root directory for relative imports, allowed host modules. Default: no imports. */
  modules?: { map?: Record<string, string>; root?: string; allow?: string[]; commonjs?: boolean };
  /** Globals copied in. */
  globals?: Record<string, unknown>;
}

export interface RunOptions {
  /** File name for stack traces. */
  filename?: string;
  /** Globals copied in before the run (they persist). */
  globals?: Record<string, unknown>;
}

export interface ConsoleEntry { level: string; text: string }

/** The report of `sandvm run --json`. */
export interface Report {
  status: 'ok' | 'error';
  value: unknown;
  display: string;
  error: { kind: ErrorKind; name: string | null; message: string; stack: string | null; line: number | null; column: number | null } | null;
  console: ConsoleEntry[];
  stats: { wall_ms: number; cpu_ms: number; heap_bytes: number };
}

export class Sandbox {
  constructor(options?: SandboxOptions);
  /** Runs code, blocking the calling thread; returns a copy of the completion value. */
  runSync(code: string, options?: RunOptions): unknown;
  /** Runs code on the sandbox's guest thread; the event loop keeps running. */
  run(code: string, options?: RunOptions): Promise<unknown>;
  /** Runs code and resolves with the report (never rejects for guest errors). */
  execute(code: string, options?: RunOptions): Promise<Report>;
  executeSync(code: string, options?: RunOptions): Report;
  setGlobal(name: string, value: unknown): void;
  /** Exposes a host function; async ones return a promise in the guest. Arguments and results are copies. */
  expose(name: string, fn: (...args: any[]) => unknown): void;
  compile(code: string, options?: { filename?: string; cachedData?: Buffer | Uint8Array }): Script;
  /** The guest's enumerable own globals, copied. */
  globalsSync(): Record<string, unknown>;
  dispose(): void;
  readonly disposed: boolean;
}

export class Script {
  constructor(code: string, options?: { filename?: string; cachedData?: Buffer | Uint8Array });
  /** Authenticated cached data (refused if tampered with). */
  readonly cachedData: Buffer;
  readonly cachedDataRejected: boolean;
  run(sandbox: Sandbox): Promise<unknown>;
  runSync(sandbox: Sandbox): unknown;
}

export interface PoolOptions {
  /** Most jobs of one tenant at a time. Default 4. */
  workers?: number;
  /** Only 'thread' from Node. */
  isolation?: 'thread';
  tenants: Record<string, SandboxOptions>;
}

export class Pool {
  constructor(options: PoolOptions);
  /** Runs one job in a fresh sandbox with the tenant's options; resolves with its report. */
  execute(tenant: string, job: { code: string; globals?: Record<string, unknown>; filename?: string }): Promise<Report>;
  close(): void;
}
