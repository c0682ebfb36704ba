// cxmock dashboard: vanilla JS over the admin API, no build step, no dependency.
// Rules: every string from mail or requests is set with textContent (never innerHTML); every URL is relative to
// the page, so the dashboard works under any prefix (/sandbox/<name>/_mock/ui/); the admin token lives in
// sessionStorage and travels in X-Cxmock-Admin-Token.
'use strict';

(() => {
  const UI = new URL('./', window.location.href); // .../_mock/ui/
  const ADMIN = new URL('../', UI); // .../_mock/
  const TOKEN_KEY = 'cxmock-admin-token:' + ADMIN.pathname;
  const FAST = 1000;
  const SLOW = 5000;
  const BROKEN = 30000;
  const $ = (id) => document.getElementById(id);

  class Locked extends Error {}

  // -- DOM helpers: text only ----------------------------------------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = String(value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function meta(dl, pairs) {
    clear(dl);
    for (const [key, value] of pairs) {
      if (value === null || value === undefined || value === '') continue;
      dl.append(el('dt', { text: key }), el('dd', {}, value instanceof Node ? value : String(value)));
    }
  }
  function json(value) { return JSON.stringify(value, null, 2); }
  function time(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso || '') : d.toLocaleTimeString();
  }
  function notice(text, isError) {
    const n = $('notice');
    n.textContent = text;
    n.className = isError ? 'notice error' : 'notice';
  }

  // -- the admin API -------------------------------------------------------------------------------------------
  async function api(path, options) {
    const opts = Object.assign({ cache: 'no-store', credentials: 'omit' }, options || {});
    const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers['X-Cxmock-Admin-Token'] = token;
    opts.headers = headers;
    const response = await fetch(new URL(path, ADMIN), opts);
    if (response.status === 401) throw new Locked('the admin token is missing or wrong');
    if (!response.ok) {
      let message = response.status + ' ' + response.statusText;
      try {
        const body = await response.json();
        message = body.message || body.messageDetails || body.error_description || message;
      } catch (e) { /* not JSON: keep the status line */ }
      throw new Error(message);
    }
    return response;
  }
  const getJson = async (path) => (await api(path)).json();
  async function download(path, filename) {
    const blob = await (await api(path, { headers: { Accept: '*/*' } })).blob();
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // -- tabs ----------------------------------------------------------------------------------------------------
  const TABS = ['mail', 'requests', 'settings', 'faults', 'server'];
  let current = 'mail';
  function show(name, focus) {
    current = name;
    for (const tab of TABS) {
      const button = $('tab-' + tab);
      const selected = tab === name;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      $('panel-' + tab).hidden = !selected;
      if (selected && focus) button.focus();
    }
    if (name === 'mail' && stale.mail) { stale.mail = false; renderMail(); }
    if (name === 'requests' && stale.requests) { stale.requests = false; renderRequests(); }
    if (name === 'settings') loadSettings().catch(failed);
    if (name === 'faults') loadFaults().catch(failed);
    if (name === 'server') loadServer().catch(failed);
    if (name === 'drift') loadDrift().catch(failed);
  }
  function setupTabs() {
    TABS.forEach((name, i) => setupTab(name, i));
  }
  function setupTab(name, i) {
    const button = $('tab-' + name);
    button.addEventListener('click', () => show(name, false));
    button.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) show(TABS[(i + step + TABS.length) % TABS.length], true);
      else if (event.key === 'Home') show(TABS[0], true);
      else if (event.key === 'End') show(TABS[TABS.length - 1], true);
      else return;
      event.preventDefault();
    });
  }
  // arrow keys move between the buttons of a list
  function arrowKeys(container) {
    container.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
      const items = Array.from(container.querySelectorAll('button.open'));
      const at = items.indexOf(document.activeElement);
      if (at < 0) return;
      const next = items[at + (event.key === 'ArrowDown' ? 1 : -1)];
      if (next) { next.focus(); event.preventDefault(); }
    });
  }

  // -- mail ----------------------------------------------------------------------------------------------------
  const limits = { mail: 1000, journal: 1000 }; // what the server keeps (from ui/api/info): the lists keep as many
  const mails = []; // oldest first
  let lastMail = 0;
  let openMail = null;
  // the body search's answer for the current query: the ids of the messages whose text or HTML part has it
  let bodyHits = { q: '', ids: new Set() };
  function mailMatches(m, q) {
    if (!q) return true;
    const hay = [m.subject, m.from, m.to, m.mailFrom].concat(m.rcptTos || []).join('\n').toLowerCase();
    return hay.includes(q) || (bodyHits.q === q && bodyHits.ids.has(m.id));
  }
  let searchTimer = null;
  function searchBodies() {
    if (searchTimer !== null) clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      searchTimer = null;
      const q = $('mail-search').value.trim().toLowerCase();
      if (!q || q.length > 200) { bodyHits = { q: '', ids: new Set() }; return; }
      try {
        const found = await getJson('ui/api/mail/search?q=' + encodeURIComponent(q));
        if ($('mail-search').value.trim().toLowerCase() !== q) return; // typed on meanwhile
        bodyHits = { q, ids: new Set(found.ids) };
        renderMail();
      } catch (e) { failed(e); }
    }, 150);
  }
  function mailRow(m) {
    const badges = el('span', { class: 'badges' },
      m.testconnection ? el('span', { class: 'badge tc', text: 'testconnection' }) : null,
      m.tls ? el('span', { class: 'badge', text: 'TLS' }) : null,
      m.authUser ? el('span', { class: 'badge', text: 'AUTH' }) : null);
    const button = el('button', { type: 'button', class: 'open', 'data-id': m.id, onclick: () => openMessage(m.id) },
      el('span', { class: 'line1' }, el('strong', { text: m.subject || '(no subject)' }), badges),
      el('span', { class: 'line2', text: (m.from || m.mailFrom || '') + ' → ' + (m.to || (m.rcptTos || []).join(', ')) }),
      el('span', { class: 'line3', text: '#' + m.id + ' · ' + time(m.receivedAt) + ' · ' + m.size + ' bytes' }));
    if (openMail === m.id) button.setAttribute('aria-current', 'true');
    return el('li', {}, button);
  }
  // a full render (on a search, on "show more") or, with fresh rows, only those prepended: a poll never rebuilds
  // the list; at most `shown` rows are in the DOM (the newest), the button below the list shows more
  const PAGE = 100;
  const shown = { mail: PAGE, requests: PAGE };
  function render(name, list, rows, fresh, makeRow, matches, q) {
    const fragment = document.createDocumentFragment();
    const source = fresh || rows;
    let added = 0;
    for (let i = source.length - 1; i >= 0 && added < shown[name]; i--) {
      if (matches(source[i], q)) { fragment.append(makeRow(source[i])); added++; }
    }
    if (fresh) list.prepend(fragment); else { clear(list); list.append(fragment); }
    while (list.children.length > shown[name]) list.lastElementChild.remove();
    const total = q ? rows.filter((r) => matches(r, q)).length : rows.length;
    const more = $(name + '-more');
    more.hidden = total <= list.children.length;
    more.textContent = `Show ${Math.min(PAGE, total - list.children.length)} more (${total - list.children.length} not shown)`;
  }
  function keep(rows, fresh, limit) {
    rows.push(...fresh);
    if (rows.length > limit) rows.splice(0, rows.length - limit);
  }
  // a list on a hidden tab is only counted; it is built when its tab is shown
  const stale = { mail: false, requests: false };
  // one list tab (mail or requests): built when shown, counted always; its elements are named <prefix>-list/-search/-empty
  function renderTab(tab, prefix, rows, fresh, row, matches) {
    if (current !== tab) stale[tab] = true;
    else render(tab, $(prefix + '-list'), rows, Array.isArray(fresh) ? fresh : null, row, matches,
      $(prefix + '-search').value.trim().toLowerCase());
    $(prefix + '-empty').hidden = rows.length > 0;
    $('count-' + tab).textContent = String(rows.length);
  }
  function renderMail(fresh) { renderTab('mail', 'mail', mails, fresh, mailRow, mailMatches); }
  async function openMessage(id) {
    openMail = id;
    for (const b of $('mail-list').querySelectorAll('button.open')) {
      if (Number(b.dataset.id) === id) b.setAttribute('aria-current', 'true'); else b.removeAttribute('aria-current');
    }
    const m = await getJson('messages/' + id);
    const view = $('mail-view');
    view.hidden = false;
    view.dataset.id = String(id);
    $('mail-subject').textContent = m.subject || '(no subject)';
    const tls = m.tls ? Object.entries(m.tls).map(([k, v]) => k + ' ' + v).join(', ') : 'none (plain SMTP)';
    meta($('mail-meta'), [
      ['From', m.from], ['To', m.to], ['Envelope from', m.mailFrom], ['Envelope to', (m.rcptTos || []).join(', ')],
      ['Received', m.receivedAt], ['Date', m.date], ['Size', m.size + ' bytes' + (m.rawTruncated ? ' (raw source truncated)' : '')],
      ['TLS', tls], ['AUTH user', m.authUser || 'none'], ['Listener', m.listener], ['Peer', m.peer], ['Message-ID', m.messageId],
    ]);
    $('mail-text').textContent = (m.text === null || m.text === undefined ? '(no text part)' : m.text) +
      (m.textTruncated ? '\n[… cut: the sink keeps a bounded part of each message]' : '');
    // the HTML part is attacker-controlled: the server rewrites it inert (no script, handler or remote reference),
    // and it is shown in an iframe with sandbox="" (no script, opaque origin) under its own CSP and the page's
    const frame = $('mail-html');
    if (m.html) {
      const inert = await getJson('ui/api/mail/' + id + '/html');
      frame.hidden = false;
      frame.srcdoc = inert.html;
      $('mail-html-note').textContent = (inert.blocked ? inert.blocked + ' remote reference(s) blocked.' : 'Scripts and remote content are never loaded.') +
        (m.htmlTruncated ? ' The HTML part was cut (the sink keeps a bounded part of each message).' : '');
    } else {
      frame.hidden = true;
      frame.removeAttribute('srcdoc');
      $('mail-html-note').textContent = '(no HTML part)';
    }
    const tc = m.testconnection;
    $('mail-tc').hidden = !tc;
    if (tc) {
      const line = $('mail-tc-request');
      clear(line);
      line.append(`testconnection to ${tc.host || '?'}:${tc.port || '?'} `);
      if (tc.requestId) line.append(el('button', { type: 'button', class: 'link', text: 'open request #' + tc.requestId, onclick: () => { show('requests', false); openRequest(tc.requestId).catch(failed); } }));
      $('mail-transcript').textContent = (m.transcript || []).join('\n');
    }
    await showAttachments(id);
    $('mail-headers').textContent = 'loading…';
    const raw = await (await api('messages/' + id + '/raw', { headers: { Accept: 'message/rfc822' } })).text();
    const end = raw.search(/\r?\n\r?\n/);
    $('mail-headers').textContent = end < 0 ? raw : raw.slice(0, end);
  }

  // attachments: listed with type and size, downloaded as inert bytes (application/octet-stream, never opened here)
  async function showAttachments(id) {
    const list = $('mail-attachments');
    clear(list);
    const found = (await getJson('ui/api/mail/' + id + '/attachments')).attachments;
    $('mail-attachments-box').hidden = found.length === 0;
    for (const a of found) {
      const label = `${a.filename} (${a.contentType}, ${a.size} bytes${a.truncated ? ', cut: raw source truncated' : ''})`;
      list.append(el('li', {}, el('button', {
        type: 'button', class: 'link attachment', text: 'Download ' + label,
        onclick: () => download('ui/api/mail/' + id + '/attachments/' + a.index, a.filename).catch(failed),
      })));
    }
  }

  // -- requests ------------------------------------------------------------------------------------------------
  const reqs = [];
  let lastReq = 0;
  function reqMatches(r, q) {
    if (!q) return true;
    return [r.method, r.path, r.status, r.operationId].join(' ').toLowerCase().includes(q);
  }
  function reqRow(r) {
    const notes = el('td', {},
      r.faults.length ? el('span', { class: 'badge fault', text: 'fault: ' + r.faults.join(', ') }) : null,
      r.violations ? el('span', { class: 'badge violation', text: r.violations + ' violation' + (r.violations > 1 ? 's' : '') }) : null);
    const status = r.status === null ? 'no response' : String(r.status);
    const cls = [r.faults.length ? 'faulted' : '', r.violations ? 'violated' : '', r.status === null || r.status >= 400 ? 'failed' : ''].join(' ').trim();
    return el('tr', { class: cls || null, 'data-id': r.id },
      el('td', {}, el('button', { type: 'button', class: 'open link', text: '#' + r.id, 'aria-label': 'open request ' + r.id, onclick: () => openRequest(r.id).catch(failed) })),
      el('td', { class: 'path' }, el('span', { class: 'method', text: r.method }), ' ', r.path),
      el('td', { class: 'status', text: status }),
      el('td', { text: r.operationId || '' }),
      el('td', { class: 'num', text: Number(r.durationMs).toFixed(1) }),
      notes);
  }
  function renderRequests(fresh) { renderTab('requests', 'req', reqs, fresh, reqRow, reqMatches); }
  async function openRequest(id) {
    const e = await getJson('ui/api/requests/' + id);
    $('req-view').hidden = false;
    $('req-title').textContent = `#${e.id} ${e.method} ${e.path}`;
    meta($('req-meta'), [
      ['Status', e.status === null ? 'no response (connection dropped or reset)' : e.status], ['operationId', e.operationId],
      ['Duration', e.durationMs + ' ms'], ['Time', e.time], ['User', e.user], ['Remote', e.remote],
    ]);
    const problems = $('req-problems');
    clear(problems);
    if (e.faults.length) problems.append(el('h3', { text: 'Faults fired' }), el('pre', { class: 'code fault', text: json(e.faults) }));
    if (e.violations.length) {
      problems.append(el('h3', { text: 'Contract-lint violations' }),
        el('ul', { class: 'violations' }, ...e.violations.map((v) => el('li', { text: `[${v.severity || ''}] ${v.code || ''}: ${v.message || json(v)}` }))));
    }
    $('req-request').textContent = json({ method: e.method, path: e.path, query: e.query, headers: e.headers, body: e.body });
    const response = { status: e.status };
    for (const [key, value] of Object.entries(e)) if (key.toLowerCase().startsWith('response')) response[key] = value;
    if (Object.keys(response).length === 1) response.note = 'no response body was journaled for this request';
    $('req-response').textContent = json(response);
  }

  // -- settings, faults, server --------------------------------------------------------------------------------
  async function loadSettings() {
    const rows = await getJson('seed');
    const body = $('settings-list');
    clear(body);
    for (const s of rows) {
      body.append(el('tr', {}, ...[s.id, s.host, s.port, s.encryptionType, s.fromAddress, s.username, s.useDefaultCredentials]
        .map((v) => el('td', { text: v === null || v === undefined ? '' : String(v) }))));
    }
    if (!rows.length) body.append(el('tr', {}, el('td', { colspan: 7, text: 'No settings stored.' })));
  }
  let presetsFilled = false;
  async function loadFaults() {
    const data = await getJson('faults');
    const body = $('faults-list');
    clear(body);
    for (const r of data.rules) {
      const action = r.action && typeof r.action === 'object' ? (r.action.type || json(r.action)) : String(r.action);
      body.append(el('tr', { 'data-id': r.id },
        el('td', { text: r.id }), el('td', { text: r.name || '' }), el('td', {}, el('code', { text: json(r.match || {}) })),
        el('td', { text: action }), el('td', { class: 'num', text: r.hits }),
        el('td', { class: 'num', text: r.remaining === null ? '∞' : r.remaining }),
        el('td', {}, el('button', { type: 'button', text: 'Remove', 'aria-label': 'remove rule ' + r.id, onclick: () => removeRule(r.id) }))));
    }
    $('faults-empty').hidden = data.rules.length > 0;
    $('count-faults').textContent = String(data.rules.length);
    const firings = $('firings');
    clear(firings);
    for (const f of data.firings.slice(-20).reverse()) firings.append(el('li', { text: `${f.name || f.ruleId}: ${f.action} on ${f.target}` }));
    if (!presetsFilled) {
      const info = await getJson('ui/api/info');
      const select = $('preset');
      clear(select);
      for (const name of info.presets) select.append(el('option', { value: name, text: name }));
      presetsFilled = true;
    }
  }
  async function removeRule(id) {
    try { await api('faults/' + encodeURIComponent(id), { method: 'DELETE' }); notice('Removed fault rule ' + id + '.'); } catch (e) { failed(e); }
    await loadFaults().catch(failed);
  }
  async function loadServer() {
    const info = await getJson('ui/api/info');
    const ports = Object.entries(info.ports || {}).map(([k, v]) => k + ' ' + v).join(', ');
    meta($('server-meta'), [
      ['Sandbox', info.sandbox || 'the server root (default sandbox)'], ['Version', info.version], ['Ports', ports || 'not reported (embedded app)'], ['Admin API', ADMIN.pathname],
      ['Admin token', info.adminLocked ? 'required' : 'not required (no --admin-token)'],
      ['Captured mail', `${info.counts.mail} held (keeps the newest ${info.limits.mail})`],
      ['Journal', `${info.counts.requests} entries (keeps the newest ${info.limits.journal})`],
      ['Stored settings', info.counts.settings],
    ]);
    const list = $('sandbox-list');
    clear(list);
    const sandboxes = info.sandboxes || [];
    $('sandboxes').hidden = !sandboxes.length && !info.sandbox;
    // relative links: the root's dashboard is at <root>/_mock/ui/, a sandbox's at <root>/sandbox/<name>/_mock/ui/
    const root = info.sandbox ? '../../../../' : '../../';
    if (info.sandbox) list.append(el('li', {}, el('a', { href: new URL(root + '_mock/ui/', UI).href, text: 'the server root (default sandbox)' })));
    for (const name of sandboxes) list.append(el('li', {}, el('a', { href: new URL(root + 'sandbox/' + encodeURIComponent(name) + '/_mock/ui/', UI).href, text: name })));
  }

  // cxmock proxy only: the drift list (the service's answers against openapi/, and the shadow mock's differences)
  async function loadDrift() {
    const rows = await getJson('drift?summary=1');
    const body = $('drift-list');
    clear(body);
    for (const r of rows) {
      body.append(el('tr', {}, el('td', { text: r.kind }), el('td', { text: r.operationId || '' }),
        el('td', { class: 'num', text: r.count }), el('td', { class: 'num', text: r.lastRequestId === null ? '' : '#' + r.lastRequestId }),
        el('td', { text: r.message })));
    }
    $('drift-empty').hidden = rows.length > 0;
    $('count-drift').textContent = String(rows.length);
  }

  // -- live: poll with back-off --------------------------------------------------------------------------------
  let delay = FAST;
  let timer = null;
  // rows the server no longer holds (a reset, a clear, an eviction) leave the lists
  function forget(rows, oldest) {
    const keepFrom = oldest === null ? Infinity : oldest;
    const drop = rows.findIndex((r) => r.id >= keepFrom);
    const gone = drop < 0 ? rows.length : drop;
    if (gone) rows.splice(0, gone);
    return gone > 0;
  }
  async function poll() {
    const [mail, journal] = await Promise.all([
      getJson('ui/api/mail?since=' + lastMail), getJson('ui/api/requests?since=' + lastReq)]);
    const newMail = mail.rows;
    const newReqs = journal.rows;
    if (forget(mails, mail.oldest)) renderMail();
    if (forget(reqs, journal.oldest)) renderRequests();
    if (newMail.length) { keep(mails, newMail, limits.mail); lastMail = newMail[newMail.length - 1].id; renderMail(newMail); }
    if (newReqs.length) { keep(reqs, newReqs, limits.journal); lastReq = newReqs[newReqs.length - 1].id; renderRequests(newReqs); }
    if (newReqs.length && current === 'faults') await loadFaults();
    // the Faults badge is live: every poll brings the number of armed rules, whichever tab is open
    const rules = String(journal.faultRules);
    const rulesChanged = journal.faultRules !== undefined && $('count-faults').textContent !== rules;
    if (rulesChanged) $('count-faults').textContent = rules;
    if (newReqs.length && TABS.includes('drift')) await loadDrift();
    return newMail.length + newReqs.length > 0 || rulesChanged;
  }
  async function tick() {
    timer = null;
    if (document.hidden) { schedule(SLOW); return; }
    try {
      const changed = await poll();
      delay = changed ? FAST : Math.min(SLOW, Math.round(delay * 1.5));
      $('live').textContent = 'live';
      $('live').className = 'live on';
    } catch (e) {
      if (e instanceof Locked) { lock('The admin token was refused.'); return; }
      delay = Math.min(BROKEN, delay * 2);
      $('live').textContent = 'reconnecting: ' + e.message;
      $('live').className = 'live off';
    }
    schedule(delay);
  }
  function schedule(ms) { if (timer === null) timer = setTimeout(tick, ms); }
  function failed(e) {
    if (e instanceof Locked) lock('The admin token was refused.');
    else notice(String(e.message || e), true);
  }

  // -- lock and start ------------------------------------------------------------------------------------------
  function lock(message) {
    if (timer !== null) { clearTimeout(timer); timer = null; }
    $('app').hidden = true;
    $('lock').hidden = false;
    $('live').textContent = 'locked';
    $('live').className = 'live off';
    $('lock-error').textContent = sessionStorage.getItem(TOKEN_KEY) ? message : '';
    $('token').focus();
  }
  function showInfo(info) {
    Object.assign(limits, info.limits);
    if (info.proxy && !TABS.includes('drift')) {
      TABS.push('drift');
      $('tab-drift').hidden = false;
      setupTab('drift', TABS.length - 1);
    }
    $('where').textContent = info.sandbox ? 'sandbox ' + info.sandbox : '';
    document.title = 'cxmock dashboard' + (info.sandbox ? ' · sandbox ' + info.sandbox : '');
  }
  async function start() {
    try {
      // the server facts and the first rows at once; the mark (after the next frame) tells a benchmark when the
      // lists were on screen
      await Promise.all([getJson('ui/api/info').then(showInfo), poll()]);
      requestAnimationFrame(() => setTimeout(() => performance.mark('cxmock:lists-painted'), 0));
    } catch (e) {
      if (e instanceof Locked) { lock('The admin token was refused.'); return; }
      $('live').textContent = 'cannot reach the server: ' + e.message;
      return;
    }
    $('lock').hidden = true;
    $('app').hidden = false;
    $('live').textContent = 'live';
    $('live').className = 'live on';
    openFromHash();
    schedule(FAST);
  }
  // a link into the dashboard (the pytest plugin's failure report): #requests opens the journal, #requests/12 one entry
  function openFromHash() {
    const m = /^#(requests|mail|settings|faults|server)(?:\/(\d+))?$/.exec(location.hash);
    if (!m) return;
    show(m[1], false);
    if (m[1] === 'requests' && m[2]) openRequest(Number(m[2])).catch(failed);
  }
  function setup() {
    setupTabs();
    arrowKeys($('mail-list'));
    arrowKeys($('req-list'));
    $('mail-search').addEventListener('input', () => { shown.mail = PAGE; renderMail(); searchBodies(); });
    $('mail-delete').addEventListener('click', async () => {
      const id = Number($('mail-view').dataset.id);
      try {
        await api('messages/' + id, { method: 'DELETE' });
        const at = mails.findIndex((m) => m.id === id);
        if (at >= 0) mails.splice(at, 1);
        $('mail-view').hidden = true;
        openMail = null;
        renderMail();
        notice('Deleted message #' + id + '.');
      } catch (e) { failed(e); }
    });
    $('mail-more').addEventListener('click', () => { shown.mail += PAGE; renderMail(); });
    $('requests-more').addEventListener('click', () => { shown.requests += PAGE; renderRequests(); });
    $('req-search').addEventListener('input', () => { shown.requests = PAGE; renderRequests(); });
    $('mail-raw').addEventListener('click', () => {
      const id = $('mail-view').dataset.id;
      download('messages/' + id + '/raw', 'message-' + id + '.eml').catch(failed);
    });
    $('ca').addEventListener('click', () => download('smtp/ca.pem', 'cxmock-ca.pem').catch(failed));
    $('lock').addEventListener('submit', (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token').value);
      $('token').value = '';
      start();
    });
    $('reset').addEventListener('click', async () => {
      try {
        await api('reset', { method: 'POST' });
        mails.length = 0; reqs.length = 0; renderMail(); renderRequests();
        $('mail-view').hidden = true; $('req-view').hidden = true;
        notice('The server was reset to its seed.');
        await loadSettings();
      } catch (e) { failed(e); }
    });
    $('seed-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const file = $('seed-file').files[0];
      if (!file) return;
      try {
        const body = await file.text();
        const answer = await (await api('seed', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } })).json();
        notice(`Loaded ${answer.count} setting(s) from ${file.name} as the new seed.`);
        await loadSettings();
      } catch (e) { failed(e); }
    });
    $('preset-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const name = $('preset').value;
      try {
        const answer = await (await api('faults', { method: 'POST', body: JSON.stringify({ preset: name }), headers: { 'Content-Type': 'application/json' } })).json();
        notice(`Enabled preset ${name}: rule(s) ${answer.ids.join(', ')}.`);
      } catch (e) { failed(e); }
      await loadFaults().catch(failed);
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && timer !== null && !$('app').hidden) { clearTimeout(timer); timer = null; delay = FAST; schedule(0); }
    });
    start();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setup); else setup();
})();
