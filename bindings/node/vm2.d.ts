// Type definitions for `sandvm/vm2`: vm2's VM and a NodeVM subset on sandvm.
import { EventEmitter } from 'events';
import { SandboxError } from './index';
export class VMError extends SandboxError {}
export class VM extends EventEmitter {
  constructor(options?: { timeout?: number; sandbox?: Record<string, unknown>; eval?: boolean; wasm?: boolean });
  run(code: string, filename?: string): unknown;
  setGlobal(name: string, value: unknown): this;
  getGlobal(name: string): unknown;
  freeze<T>(value: T, name: string): T;
}
export class NodeVM extends EventEmitter {
  constructor(options?: {
    console?: 'inherit' | 'redirect' | 'off';
    sandbox?: Record<string, unknown>;
    timeout?: number;
    require?: { external?: boolean; builtin?: string[]; root?: string; mock?: Record<string, unknown> };
  });
  /** Runs code as a CommonJS module; returns a copy of module.exports. */
  run(code: string, filename?: string): unknown;
}
