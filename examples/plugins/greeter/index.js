import { log, emit, kvGet, kvSet, plugin } from 'sandvm:host';
import { greeting } from './greeting.js';

export function activate(info) {
  log(`${info.name} ${info.version} activated`);
}

export async function onEvent(name, payload) {
  if (name === 'user.created') {
    const count = (kvGet('greeted') ?? 0) + 1;
    kvSet('greeted', count);
    const text = greeting(payload.name ?? 'stranger');
    emit('greeting.sent', { to: payload.name, text });
    return { text, count };
  }
  if (name === 'stats.requested') {
    return { plugin: plugin.name, greeted: kvGet('greeted') ?? 0 };
  }
  return null;
}

export function deactivate() {
  log('bye');
}
