// The cockpit's entry point: who is signed in, the frame (navigation,
// language, theme), the router and the live event source.
import {h} from './dom.js';
import {api, onSignedOut} from './api.js';
import {t, initLang, setLang, lang, LANGS} from './i18n.js';
import {Live} from './stream.js';
import {toast, toastRegion} from './toast.js';
import {initTheme, toggleTheme, theme} from './theme.js';

const routes = [
  {path: /^\/signin$/, page: () => import('./pages/auth.js'), name: 'signin', public: true},
  {path: /^\/signup$/, page: () => import('./pages/auth.js'), name: 'signup', public: true},
  {path: /^\/trade$/, page: () => import('./pages/trade.js'), name: 'trade'},
  {path: /^\/accounts$/, page: () => import('./pages/accounts.js'), name: 'accounts'},
  {path: /^\/bots$/, page: () => import('./pages/bots.js'), name: 'bots'},
  {path: /^\/bots\/new$/, page: () => import('./pages/botform.js'), name: 'botnew'},
  {path: /^\/bots\/(\d+)\/edit$/, page: () => import('./pages/botform.js'), name: 'botedit'},
  {path: /^\/bots\/(\d+)$/, page: () => import('./pages/bot.js'), name: 'bot'},
  {path: /^\/history$/, page: () => import('./pages/history.js'), name: 'history'},
  {path: /^\/settings$/, page: () => import('./pages/settings.js'), name: 'settings'},
  {path: /^\/admin$/, page: () => import('./pages/admin.js'), name: 'admin', admin: true},
];

const NAV = [
  {href: '/trade', key: 'nav.trade', icon: '↗'},
  {href: '/bots', key: 'nav.bots', icon: '⚙'},
  {href: '/history', key: 'nav.history', icon: '☰'},
  {href: '/accounts', key: 'nav.accounts', icon: '◎'},
  {href: '/settings', key: 'nav.settings', icon: '⋯'},
];

const app = {
  user: null, // GET /api/v2/user
  live: new Live(),
  navigate,
  toast,
  refreshUser,
};

let cleanup = null;
let renderSeq = 0;

async function refreshUser() {
  try {
    app.user = await api('GET', '/api/v2/user');
  } catch (e) {
    if (e.status !== 401) throw e;
    app.user = null;
  }
  return app.user;
}

function navigate(path, replace = false) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function frame(active) {
  const nav = h('nav', {class: 'nav', 'aria-label': t('nav.label')},
    NAV.concat(app.user && app.user.role === 'admin' ? [{href: '/admin', key: 'nav.admin', icon: '★'}] : [])
      .map((n) => h('a', {href: n.href, class: 'nav-link', 'aria-current': active.startsWith(n.href) ? 'page' : null, dataset: {nav: n.href.slice(1)}},
        h('span', {class: 'nav-icon', 'aria-hidden': 'true'}, n.icon), h('span', {class: 'nav-text'}, t(n.key)))));
  const langSel = h('select', {class: 'lang', 'aria-label': t('frame.language'), onchange: (e) => {
    setLang(e.target.value);
    // The frame is rebuilt in the new language: the picker keeps focus,
    // so the arrow keys go on choosing.
    render('select.lang');
  }}, LANGS.map((l) => h('option', {value: l.code, selected: l.code === lang()}, l.name)));
  const themeBtn = h('button', {type: 'button', class: 'icon-btn', 'aria-label': t('frame.theme'), title: t('frame.theme'),
    'aria-pressed': theme() === 'dark' ? 'true' : 'false', onclick: () => {
      toggleTheme();
      themeBtn.setAttribute('aria-pressed', theme() === 'dark' ? 'true' : 'false');
      window.dispatchEvent(new Event('stc-theme'));
    }}, '◐');
  const tools = h('div', {class: 'tools'}, langSel, themeBtn,
    app.user ? h('button', {type: 'button', class: 'btn ghost small', id: 'signout', onclick: signOut}, t('frame.signout')) : null);
  const header = h('header', {class: 'top'},
    h('a', {href: app.user ? '/trade' : '/signin', class: 'brand'}, h('span', {class: 'logo', 'aria-hidden': 'true'}), 'STC'),
    app.user ? nav : null, tools);
  const main = h('main', {id: 'main', tabindex: '-1'});
  const live = h('p', {class: 'live-mode', id: 'live-mode', 'aria-live': 'polite'});
  return {header, main, live};
}

async function signOut() {
  try {
    await api('POST', '/api/v2/auth/logout');
  } catch {
    // the cookie is cleared either way below
  }
  app.live.stop();
  app.user = null;
  navigate('/signin', true);
}

// render draws the page of the current path. keep (a selector) names the
// element of the new frame that takes focus (the language picker after a
// language change).
async function render(keep) {
  const seq = ++renderSeq;
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  let path = location.pathname.replace(/\/+$/, '') || '/';
  if (path === '/') path = app.user ? '/trade' : '/signin';
  let route = routes.find((r) => r.path.test(path));
  if (!route) route = routes.find((r) => r.name === (app.user ? 'trade' : 'signin'));
  if (!route.public && !app.user) {
    history.replaceState(null, '', '/signin');
    route = routes[0];
    path = '/signin';
  }
  if (route.public && app.user) {
    history.replaceState(null, '', '/trade');
    route = routes.find((r) => r.name === 'trade');
    path = '/trade';
  }
  if (route.admin && app.user.role !== 'admin') {
    history.replaceState(null, '', '/trade');
    route = routes.find((r) => r.name === 'trade');
    path = '/trade';
  }
  const params = path.match(route.path).slice(1);
  const root = document.getElementById('app');
  const f = frame(path);
  // The element that had focus went with the old page, and focus would
  // be back at the top of the document: it goes to the new page's content
  // instead (as the skip link does), while the page loads; a page may then
  // put it on a field of its own. The first page of a visit leaves it
  // alone, so the first Tab reaches the skip link.
  root.replaceChildren(f.header, f.main, f.live, toastRegion());
  const kept = typeof keep === 'string' && root.querySelector(keep);
  if (kept) kept.focus();
  else if (seq > 1) f.main.focus({preventScroll: true});
  const skip = document.querySelector('a.skip'); // in index.html, before the app
  if (skip) skip.textContent = t('frame.skip');
  root.dataset.page = route.name;
  root.removeAttribute('aria-busy');
  document.title = t('title.' + route.name) + ' · STC';
  const mod = await route.page();
  if (seq !== renderSeq) return;
  const ret = await mod.render({root: f.main, params, app, name: route.name});
  if (seq !== renderSeq) {
    if (typeof ret === 'function') ret();
    return;
  }
  cleanup = typeof ret === 'function' ? ret : null;
}

function showMode(mode) {
  const el = document.getElementById('live-mode');
  if (el) el.textContent = mode === 'stream' ? t('live.stream') : mode === 'polling' ? t('live.polling') : '';
}

async function boot() {
  initLang();
  initTheme();
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download') || e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    // A link within the page (the skip link) moves focus there; it is no
    // navigation, and the page is not drawn again.
    if (a.getAttribute('href').startsWith('#')) {
      const to = document.getElementById(a.getAttribute('href').slice(1));
      if (to) {
        e.preventDefault();
        to.focus();
      }
      return;
    }
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/assets/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  window.addEventListener('popstate', render);
  const expired = () => {
    if (!app.user) return;
    app.user = null;
    app.live.stop();
    toast(t('frame.expired'), 'warn');
    navigate('/signin', true);
  };
  onSignedOut(expired);
  app.live.addEventListener('mode', (e) => showMode(e.detail));
  app.live.addEventListener('signedout', expired);
  await refreshUser();
  if (app.user) app.live.start();
  await render();
}

/** Called by the sign-in page once the cookie is set. */
export async function signedIn() {
  await refreshUser();
  app.live.start();
}

app.signedIn = signedIn;
boot();
