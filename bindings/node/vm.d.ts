// Type definitions for `sandvm/vm`: the node:vm surface on sandvm (values are copies).
export type Context = Record<string, unknown>;
export interface RunningOptions { filename?: string }
export function createContext<T extends object>(contextObject?: T, options?: { timeout?: number; memoryLimit?: number }): T;
export function isContext(object: object): boolean;
export function runInContext(code: string, contextifiedObject: Context, options?: RunningOptions | string): unknown;
export function runInNewContext(code: string, contextObject?: Context, options?: RunningOptions | string): unknown;
/** Always throws: sandvm never runs code in the host realm. */
export function runInThisContext(code: string, options?: RunningOptions | string): never;
export class Script {
  constructor(code: string, options?: { filename?: string; cachedData?: Buffer | Uint8Array; produceCachedData?: boolean } | string);
  cachedData?: Buffer;
  cachedDataRejected?: boolean;
  createCachedData(): Buffer;
  runInContext(contextifiedObject: Context): unknown;
  runInNewContext(contextObject?: Context, options?: { timeout?: number }): unknown;
  runInThisContext(): never;
}
export function compileFunction(code: string, params?: string[], options?: { filename?: string; parsingContext?: Context; contextExtensions?: object[] }): (...args: unknown[]) => unknown;
/** Ends the sandbox behind a context (sandvm extension). */
export function disposeContext(contextObject: Context): void;
