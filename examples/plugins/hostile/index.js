import { kvGet, kvKeys, log } from 'sandvm:host';

export async function onEvent(name) {
  // Its own store is all it can see: the greeter's 'greeted' key is not there.
  log('keys I can see:', JSON.stringify(kvKeys()), 'greeted =', JSON.stringify(kvGet('greeted')));
  for (const spec of ['sandvm:kv/greeter', '../greeter/index.js', 'fs', 'sandvm:fs']) {
    try {
      await import(spec);
      log('imported', spec);
    } catch (e) {
      log('refused', spec, e.name);
    }
  }
  log('typeof process =', typeof process, ', typeof require =', typeof require);
  for (;;) {} // then it hangs: the host times it out
}
