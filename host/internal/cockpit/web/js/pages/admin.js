// Operator pages: users and their plans (grant a plan), plugins and their
// state, health.
import {h, mount, setBusy, isBusy} from '../dom.js';
import {api, ApiError} from '../api.js';
import {t, dateTime} from '../i18n.js';

export async function render({root, app}) {
  const [users, plans, plugins] = await Promise.all([api('GET', '/api/v2/admin/users?limit=100'), api('GET', '/api/v2/plans'), api('GET', '/api/v2/admin/plugins')]);
  const health = async (path) => {
    try {
      const r = await api('GET', path);
      return r.status;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      return e.code;
    }
  };
  const [live, ready] = await Promise.all([health('/healthz'), health('/readyz')]);
  const userRows = users.items.map((u) => {
    // Either answer shape: the plan in effect at the top, or in the subscription.
    const planID = u.plan_id ?? (u.subscription ? u.subscription.plan_id : '');
    const subStatus = u.subscription ? u.subscription.status : 'none';
    const sel = h('select', {'aria-label': t('admin.planFor', {email: u.email})}, plans.items.map((p) => h('option', {value: p.id, selected: p.id === planID}, p.name)));
    const msg = h('span', {class: 'small', role: 'status'});
    const grant = h('button', {type: 'button', class: 'btn small', onclick: async () => {
      if (isBusy(grant)) return;
      setBusy(grant, true);
      try {
        const r = await api('POST', `/api/v2/admin/users/${u.id}/subscription`, {body: {plan_id: sel.value}});
        msg.textContent = t('admin.granted', {plan: r.plan_id});
      } catch (e) {
        msg.textContent = e.message;
      } finally {
        setBusy(grant, false);
      }
    }}, t('admin.grant'));
    return h('tr', {dataset: {user: String(u.id)}}, h('td', null, u.email), h('td', null, u.role), h('td', null, dateTime(u.created_at)),
      h('td', null, `${planID} · ${t('sub.' + subStatus)}`), h('td', null, sel, ' ', grant, ' ', msg));
  });
  const head = (cols) => h('thead', null, h('tr', null, cols.map((c) => h('th', {scope: 'col'}, c))));
  const pluginRows = plugins.items.map((p) => h('tr', null,
    h('td', null, p.kind),
    h('td', null, p.name + (p.session ? ' (' + p.session + ')' : '')),
    h('td', null, p.version || '—'),
    h('td', null, h('span', {class: 'badge ' + p.state}, p.state)),
    h('td', {class: 'num'}, String(p.restarts)),
    h('td', {class: 'num'}, String(p.instances ?? p.session_processes ?? 0)),
    h('td', {class: 'small'}, p.last_error || '—')));
  const pluginTable = h('table', {class: 'table compact', id: 'plugins'},
    head([t('admin.kind'), t('admin.name'), t('admin.version'), t('admin.state'), t('admin.restarts'), t('admin.instances'), t('admin.lastError')]),
    h('tbody', null, pluginRows));
  const userTable = h('table', {class: 'table compact', id: 'users'},
    head([t('auth.email'), t('admin.role'), t('admin.since'), t('settings.plan'), t('admin.grant')]),
    h('tbody', null, userRows));
  mount(root, h('h1', null, t('title.admin')),
    h('section', {class: 'card'}, h('h2', null, t('admin.health')),
      h('dl', {class: 'kv'}, h('dt', null, '/healthz'), h('dd', {id: 'health-live'}, live), h('dt', null, '/readyz'), h('dd', {id: 'health-ready'}, ready))),
    h('section', {class: 'card'}, h('h2', null, t('admin.plugins')), h('div', {class: 'table-wrap'}, pluginTable)),
    h('section', {class: 'card'}, h('h2', null, t('admin.users')), h('div', {class: 'table-wrap'}, userTable),
      users.next_cursor ? h('p', {class: 'muted small'}, t('admin.more')) : null));
  return null;
}
