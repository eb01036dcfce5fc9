// Shared bits of the bot pages.
import {h} from './dom.js';
import {api} from './api.js';
import {t} from './i18n.js';

/** A bot's status badge, with its reason when paused or failed. */
export function botStatus(b) {
  return h('span', {class: 'bot-status'},
    h('span', {class: 'badge ' + b.status, dataset: {status: b.status}}, t('status.' + b.status)),
    b.status_reason ? h('span', {class: 'muted small reason'}, ' ', b.status_reason) : null);
}

/** Start or stop b; returns the bot as it is now. */
export async function toggleBot(b) {
  const action = b.status === 'running' ? 'stop' : 'start';
  const r = await api('POST', `/api/v2/bots/${b.id}/${action}`);
  return r.bot;
}

/** The per-bot rows of GET /api/v2/user/stats, by bot id. */
export async function botStats() {
  const s = await api('GET', '/api/v2/user/stats');
  return new Map(s.bots.filter((r) => r.bot_id !== null).map((r) => [r.bot_id, r]));
}
