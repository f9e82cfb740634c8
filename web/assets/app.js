// aperture's progressive enhancement: every page works without this file;
// with it, actions happen in place and lists grow as you scroll.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
const me = document.body.dataset.me;
document.documentElement.classList.add('js');
for (const el of document.querySelectorAll('.js[hidden]')) el.hidden = false;

// send calls the JSON API with the page's CSRF token and turns a
// problem+json answer into an Error carrying the API's sentence.
export async function send(url, { method = 'GET', json, body, headers = {} } = {}) {
  const h = { 'X-CSRF-Token': csrf, Accept: 'application/json', ...headers };
  if (json !== undefined) { h['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
  const res = await fetch(url, { method, body, headers: h, credentials: 'same-origin' });
  if (res.status === 401 && method !== 'GET') { location.href = '/login?next=' + encodeURIComponent(location.pathname); throw new Error('Log in first.'); }
  if (!res.ok) {
    let msg = 'Something went wrong; try again.';
    try { const p = await res.json(); if (p.detail) msg = p.detail; } catch { /* not JSON */ }
    throw new Error(msg);
  }
  return res.status === 204 ? null : res.json();
}
export { csrf };

// showError puts the API's sentence next to the control that caused it.
export function showError(near, err) {
  const box = near.closest('article, form, section, li')?.querySelector('[data-error]') ?? near.parentElement?.querySelector('[data-error]');
  if (!box && !near.isConnected) return;
  if (!box) { if (err) alert(err.message); return; }
  box.textContent = err?.message ?? '';
  box.hidden = !err;
}

// el builds an element; text is always text, never markup.
export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) e.setAttribute(k, v);
  e.append(...kids.filter((k) => k != null));
  return e;
}

// icon returns an icon of the page's sprite, like the templates' icon.
const sprite = document.querySelector('svg.i use')?.getAttribute('href')?.split('#')[0] ?? '/assets/icons.svg';
export function icon(name) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg'), use = document.createElementNS(NS, 'use');
  svg.setAttribute('class', 'i'); svg.setAttribute('aria-hidden', 'true');
  use.setAttribute('href', `${sprite}#${name}`);
  svg.append(use);
  return svg;
}

// rich turns a caption or comment into text nodes and links, like the
// server's rendering: #tags, @mentions and web addresses only.
export function rich(text) {
  const out = document.createDocumentFragment();
  const re = /(^|[^\p{L}\p{N}_])([#@])([\p{L}\p{N}_]+(?:\.[\p{L}\p{N}_]+)*)|(https?:\/\/[^\s<"]+[^\s<".,;:!?)])/gu;
  let last = 0;
  for (const m of text.matchAll(re)) {
    const start = m.index + (m[1]?.length ?? 0);
    out.append(text.slice(last, start));
    if (m[4]) out.append(el('a', { href: m[4], rel: 'nofollow noopener ugc', target: '_blank' }, m[4]));
    else out.append(el('a', { href: (m[2] === '#' ? '/tags/' : '/u/') + encodeURIComponent(m[3].toLowerCase()) }, m[2] + m[3]));
    last = m.index + m[0].length;
  }
  out.append(text.slice(last));
  return out;
}

function avatar(u) {
  return u.avatar ? el('img', { class: 'av', src: u.avatar, alt: '', width: 32, height: 32 }) : el('span', { class: 'av none', 'aria-hidden': 'true' }, u.username[0]);
}

// Photos fade in over their blurred placeholders.
function fadeIn(root) {
  for (const img of root.querySelectorAll('img.photo:not(.loaded)')) {
    if (img.complete && img.naturalWidth) img.classList.add('loaded');
    else img.addEventListener('load', () => img.classList.add('loaded'), { once: true });
    img.addEventListener('error', () => img.classList.add('loaded'), { once: true });
  }
}

// Carousel dots follow the scroll position; captions get a "more".
function decorate(root) {
  fadeIn(root);
  for (const m of root.querySelectorAll('.carousel:not([data-dots])')) {
    m.dataset.dots = '1';
    const slides = m.querySelector('.slides'); const dots = [...m.querySelectorAll('.dots span')];
    const mark = () => { const i = Math.round(slides.scrollLeft / slides.clientWidth); dots.forEach((d, j) => d.classList.toggle('on', i === j)); };
    slides.addEventListener('scroll', mark, { passive: true }); mark();
  }
  for (const c of root.querySelectorAll('[data-clamp]')) {
    delete c.dataset.clamp;
    if (c.scrollHeight > c.clientHeight + 2) {
      const b = el('button', { type: 'button', class: 'morebtn' }, 'more');
      b.addEventListener('click', () => { c.classList.add('open'); b.remove(); });
      c.after(b);
    }
  }
  for (const b of root.querySelectorAll('.js[hidden]')) b.hidden = false;
}
decorate(document);

// Likes: the button, and a double tap on the photo.
async function like(form, only) {
  const btn = form.querySelector('button');
  const liked = btn.getAttribute('aria-pressed') === 'true';
  if (only && liked) return;
  const id = form.action.match(/\/p\/(\d+)\//)[1];
  try {
    const r = await send(`/api/v1/posts/${id}/like`, { method: liked ? 'DELETE' : 'POST' });
    btn.setAttribute('aria-pressed', String(r.liked));
    btn.classList.toggle('on', r.liked); btn.classList.toggle('bump', r.liked);
    form.action = `/p/${id}/${r.liked ? 'unlike' : 'like'}`;
    const scope = form.closest('article');
    const n = scope.querySelector('[data-like-count]'); if (n) n.textContent = r.like_count.toLocaleString('en');
    const w = scope.querySelector('[data-like-word]'); if (w) w.textContent = r.like_count === 1 ? 'like' : 'likes';
    const some = scope.querySelector('[data-likes-some]'); if (some) some.hidden = r.like_count === 0;
    const none = scope.querySelector('[data-likes-none]'); if (none) none.hidden = r.like_count !== 0;
    showError(form, null);
  } catch (e) { showError(form, e); }
}

function pop(media) {
  const p = media.querySelector('.pop');
  p.classList.remove('go'); void p.offsetWidth; p.classList.add('go');
}

document.addEventListener('dblclick', (ev) => {
  const media = ev.target.closest('[data-double-like]');
  if (!media || !me) return;
  const form = media.closest('article').querySelector('form[data-like]');
  if (form) { pop(media); like(form, true); }
});

// Forms that act in place instead of reloading.
const actions = {
  like: (form) => like(form, false),
  async follow(form) {
    const name = form.action.match(/\/u\/([^/]+)\//)[1];
    const undo = /unfollow$/.test(form.action);
    const r = await send(`/api/v1/users/${name}/follow`, { method: undo ? 'DELETE' : 'POST' });
    const btn = form.querySelector('button');
    btn.textContent = { following: 'Following', requested: 'Requested', none: 'Follow' }[r.state];
    btn.classList.toggle('primary', r.state === 'none');
    form.action = `/u/${name}/${r.state === 'none' ? 'follow' : 'unfollow'}`;
    const f = document.querySelector('[data-followers]');
    if (f && /^\d+$/.test(f.textContent)) f.textContent = String(Number(f.textContent) + (r.state === 'following' ? 1 : undo ? -1 : 0));
  },
  async comment(form) {
    const input = form.querySelector('[name=text]');
    const id = form.action.match(/\/p\/(\d+)\//)[1];
    const c = await send(`/api/v1/posts/${id}/comments`, { method: 'POST', json: { text: input.value } });
    const del = el('form', { class: 'inline', method: 'post', action: `/c/${c.id}/delete`, 'data-delete-comment': '' },
      el('input', { type: 'hidden', name: 'csrf', value: csrf }),
      el('button', { class: 'btn link muted', type: 'submit', 'aria-label': `Delete comment by ${c.author.username}` }, 'Delete'));
    const li = el('li', { class: 'comment', id: `c${c.id}` }, el('a', { href: `/u/${c.author.username}` }, avatar(c.author)),
      el('p', {}, el('a', { href: `/u/${c.author.username}` }, el('b', {}, c.author.username)), ' ', rich(c.text), el('br'),
        el('time', { class: 'when', datetime: c.created_at }, 'just now'), ' ', del));
    document.querySelector('[data-comments]').append(li);
    input.value = '';
    li.scrollIntoView({ block: 'nearest' });
  },
  async 'delete-comment'(form) {
    await send(`/api/v1/comments/${form.action.match(/\/c\/(\d+)\//)[1]}`, { method: 'DELETE' });
    form.closest('li').remove();
  },
  async answer(form) {
    const [, id, verb] = form.action.match(/\/requests\/(\d+)\/(approve|deny)$/);
    await send(`/api/v1/me/follow-requests/${id}/${verb}`, { method: 'POST' });
    form.closest('li').replaceChildren(el('p', { class: 'muted' }, verb === 'approve' ? 'Approved.' : 'Request removed.'));
  },
};

document.addEventListener('submit', async (ev) => {
  const form = ev.target;
  if (form.dataset.confirm && !confirm(form.dataset.confirm)) { ev.preventDefault(); return; }
  const kind = Object.keys(actions).find((k) => k in form.dataset);
  if (!kind) return;
  ev.preventDefault();
  const btn = form.querySelector('[type=submit]');
  if (btn) btn.disabled = true;
  try { await actions[kind](form); showError(form, null); } catch (e) { showError(form, e); } finally { if (btn) btn.disabled = false; }
});

// Copy a post's link.
document.addEventListener('click', async (ev) => {
  const b = ev.target.closest('[data-copy]');
  if (!b) return;
  try { await navigator.clipboard.writeText(new URL(b.dataset.copy, location.href).href); b.setAttribute('aria-label', 'Link copied'); b.title = 'Link copied'; } catch { prompt('Copy this link', new URL(b.dataset.copy, location.href).href); }
});

// Infinite scroll: "Load more" links fetch the next page's items.
const seen = new IntersectionObserver((entries) => {
  for (const e of entries) if (e.isIntersecting) loadMore(e.target);
}, { rootMargin: '800px' });
async function loadMore(a) {
  if (a.dataset.loading) return;
  a.dataset.loading = '1'; seen.unobserve(a);
  try {
    const res = await fetch(a.href, { headers: { 'X-Fetch': 'items' }, credentials: 'same-origin' });
    if (!res.ok) throw new Error('Could not load more.');
    const t = document.createElement('template');
    t.innerHTML = await res.text();
    const grid = a.parentElement.querySelector('.grid');
    const more = t.content.querySelector('[data-more]');
    const newGrid = t.content.querySelector('.grid');
    if (grid && newGrid) grid.append(...newGrid.children); else a.before(...[...t.content.children].filter((c) => c !== more));
    decorate(a.parentElement);
    if (more) { a.replaceWith(more); seen.observe(more); } else a.remove();
  } catch { delete a.dataset.loading; }
}
for (const a of document.querySelectorAll('[data-more]')) seen.observe(a);

// Typeahead for people, tags and places; and #/@ suggestions in text.
function debounce(fn, ms) { let t; return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); }; }

export async function suggest(q) {
  q = q.trim();
  if (!q) return [];
  const tagQ = q.replace(/^#/, '');
  const [users, tags, places] = await Promise.all([
    q.startsWith('#') ? {} : send(`/api/v1/search?type=users&limit=6&q=${encodeURIComponent(q.replace(/^@/, ''))}`).catch(() => ({})),
    q.startsWith('@') ? {} : send(`/api/v1/search?type=tags&limit=5&q=${encodeURIComponent(tagQ)}`).catch(() => ({})),
    /^[#@]/.test(q) ? { items: [] } : send(`/api/v1/places/search?limit=4&q=${encodeURIComponent(q)}`).catch(() => ({ items: [] })),
  ]);
  return [
    ...(users.users ?? []).map((u) => ({ href: `/u/${u.username}`, label: u.username, sub: u.display_name, insert: '@' + u.username, icon: avatar(u) })),
    ...(tags.tags ?? []).map((t) => ({ href: `/tags/${encodeURIComponent(t.tag)}`, label: '#' + t.tag, sub: `${t.posts} posts`, insert: '#' + t.tag, icon: el('span', { class: 'av none' }, '#') })),
    ...places.items.map((p) => ({ href: `/places/${p.id}`, label: p.name, sub: `${p.posts} posts`, icon: el('span', { class: 'av none' }, icon('pin')), place: p })),
  ];
}

export function attachList(input, box, fetcher, choose) {
  let items = [], sel = -1;
  const render = () => {
    box.replaceChildren(...items.map((it, i) => {
      const a = el('a', { href: it.href, role: 'option', 'aria-selected': String(i === sel), id: `${box.id || 'ta'}-${i}` }, it.icon ?? '', el('span', {}, el('b', {}, it.label), it.sub ? el('br') : null, it.sub ? el('span', { class: 'muted' }, it.sub) : null));
      a.addEventListener('mousedown', (e) => { if (choose) { e.preventDefault(); choose(it); close(); } });
      return a;
    }));
    box.hidden = items.length === 0;
    input.setAttribute('aria-expanded', String(!box.hidden));
  };
  const close = () => { items = []; sel = -1; render(); };
  const run = debounce(async () => { items = await fetcher(input); sel = -1; render(); }, 150);
  input.addEventListener('input', run);
  input.addEventListener('blur', () => setTimeout(close, 150));
  input.addEventListener('keydown', (e) => {
    if (box.hidden) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') { e.preventDefault(); sel = (sel + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length; render(); }
    else if (e.key === 'Escape') { close(); }
    else if (e.key === 'Enter' && sel >= 0) { e.preventDefault(); const it = items[sel]; if (choose) { choose(it); close(); } else location.href = it.href; }
  });
}

for (const input of document.querySelectorAll('[data-typeahead]')) {
  attachList(input, input.parentElement.querySelector('.ta'), (i) => suggest(i.value));
}

// In captions and comments, a word starting with # or @ offers matches.
for (const input of document.querySelectorAll('[data-suggest]')) {
  const box = el('div', { class: 'ta', role: 'listbox', hidden: '' });
  input.parentElement.style.position = 'relative';
  input.after(box);
  const word = () => { const m = input.value.slice(0, input.selectionStart).match(/(?:^|\s)([#@][\p{L}\p{N}_.]+)$/u); return m?.[1]; };
  attachList(input, box, async () => { const w = word(); return w ? (await suggest(w)).filter((it) => it.insert) : []; }, (it) => {
    const w = word(); const at = input.selectionStart;
    input.value = input.value.slice(0, at - w.length) + it.insert + ' ' + input.value.slice(at);
    input.focus();
  });
}

// Live events: the unread badge, and a pill for new posts on the feed.
// The browser reconnects by itself, sending the last event's ID, and the
// server replays what was missed.
if (me && 'EventSource' in window) {
  const badges = document.querySelectorAll('[data-badge]');
  const setUnread = (n) => {
    for (const b of badges) {
      let s = b.querySelector('.badge');
      if (!n) { s?.remove(); b.setAttribute('aria-label', 'Activity'); continue; }
      if (!s) { s = el('span', { class: 'badge' }); b.append(s); }
      s.textContent = String(n);
      b.setAttribute('aria-label', `Activity, ${n} unread`);
    }
  };
  const feed = document.querySelector('.feed');
  let fresh = 0, pill = null;
  const es = new EventSource('/api/v1/stream');
  const data = (e) => { try { return JSON.parse(e.data); } catch { return {}; } };
  es.addEventListener('hello', (e) => setUnread(data(e).unread));
  es.addEventListener('activity', (e) => setUnread(data(e).unread));
  es.addEventListener('post', () => {
    if (!feed || location.search.includes('before=')) return;
    fresh++;
    if (!pill) {
      pill = el('button', { type: 'button', class: 'pill', 'aria-live': 'polite' });
      pill.addEventListener('click', () => { location.reload(); });
      feed.before(pill);
    }
    pill.textContent = fresh === 1 ? '1 new post' : `${fresh} new posts`;
  });
}

// Pages with more to do load their module.
for (const m of document.querySelectorAll('[data-module]')) {
  import(m.dataset.module).then((mod) => mod.default?.({ send, csrf, el, attachList, suggest, rich, icon }));
}
