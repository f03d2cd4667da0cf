// elt docs: renders window.ELT_DATA (written by `elt docs generate`).
// Every piece of project text is inserted as a text node (h() below);
// nothing from the data is ever parsed as HTML.
(function () {
  'use strict';
  var D = window.ELT_DATA || { project: '', nodes: [], graph: { nodes: [], edges: [], layout: { x: [], y: [], w: 0, h: 0 } } };
  var byId = new Map();
  D.nodes.forEach(function (n) { byId.set(n.id, n); });
  var main = document.getElementById('main');
  // usersOf maps "node\u0000column" (lower-cased) to what uses the column,
  // and childrenOf a node id to its dependants; both built on first use.
  var usersOf = null, childIds = null;
  function buildUsers() {
    usersOf = new Map();
    childIds = new Map();
    D.nodes.forEach(function (n) {
      (n.deps || []).forEach(function (d) {
        if (!childIds.has(d)) childIds.set(d, []);
        childIds.get(d).push(n.id);
      });
      function note(d, col) {
        var k = d.node + '\u0000' + String(d.col).toLowerCase();
        if (!usersOf.has(k)) usersOf.set(k, []);
        usersOf.get(k).push({ node: n.id, col: col, kind: d.kind });
      }
      (n.cols || []).forEach(function (c) { (c.up || []).forEach(function (d) { note(d, c.name); }); });
      (n.rowdeps || []).forEach(function (d) { note(d, ''); });
    });
  }
  function usersOfColumn(n, c) {
    if (!usersOf) buildUsers();
    return usersOf.get(n.id + '\u0000' + c.name.toLowerCase()) || [];
  }
  function childrenOfNode(n) {
    if (!childIds) buildUsers();
    return childIds.get(n.id) || [];
  }
  var search = document.getElementById('search');
  var graphview = document.getElementById('graphview');
  document.getElementById('project').textContent = D.project || '';

  // h builds an element; string children become text nodes, never HTML.
  function h(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'class') e.className = v;
        else if (k === 'onclick') e.addEventListener('click', v);
        else e.setAttribute(k, String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function append(e, kid) {
    if (kid === null || kid === undefined || kid === false) return;
    if (Array.isArray(kid)) { kid.forEach(function (k) { append(e, k); }); return; }
    e.appendChild(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }

  // fill replaces e's children with the given (nested) children.
  function fill(e) {
    e.textContent = '';
    for (var i = 1; i < arguments.length; i++) append(e, arguments[i]);
  }

  function hrefOf(n) {
    return '#/' + n.type + '/' + encodeURIComponent(n.name);
  }
  function link(id, label) {
    var n = byId.get(id);
    if (!n) return h('span', { class: 'muted' }, label || id);
    return h('a', { href: hrefOf(n) }, label || n.name);
  }
  function findNode(type, name) {
    for (var i = 0; i < D.nodes.length; i++) {
      var n = D.nodes[i];
      if (n.type === type && n.name === name) return n;
    }
    return null;
  }
  function status(run) {
    if (!run) return h('span', { class: 'muted' }, 'not run yet');
    return h('span', { class: 'status-' + String(run.status).toLowerCase() }, run.status);
  }

  // ---- index and search ----
  var searchText = null;
  function buildSearchText() {
    searchText = D.nodes.map(function (n) {
      var cols = (n.cols || []).map(function (c) { return c.name; }).join(' ');
      return (n.name + ' ' + n.id + ' ' + (n.desc || '') + ' ' + cols + ' ' + (n.tags || []).join(' ') + ' ' + (n.owner || '')).toLowerCase();
    });
  }
  function renderIndex(q) {
    q = (q || '').trim().toLowerCase();
    if (q && !searchText) buildSearchText();
    var terms = q ? q.split(/\s+/) : [];
    var hits = [];
    var counts = {};
    D.nodes.forEach(function (n, i) {
      counts[n.type] = (counts[n.type] || 0) + 1;
      if (terms.length && !terms.every(function (t) { return searchText[i].indexOf(t) >= 0; })) return;
      hits.push(n);
    });
    if (terms.length) {
      hits.sort(function (a, b) {
        var ax = a.name.toLowerCase() === q ? 0 : a.name.toLowerCase().indexOf(q) === 0 ? 1 : 2;
        var bx = b.name.toLowerCase() === q ? 0 : b.name.toLowerCase().indexOf(q) === 0 ? 1 : 2;
        return ax - bx;
      });
    }
    var limit = 300;
    var summary = Object.keys(counts).sort().map(function (t) { return counts[t] + ' ' + t + (counts[t] === 1 ? '' : 's'); }).join(', ');
    fill(main, 
      h('h1', null, D.project || 'Project'),
      h('p', { class: 'muted' }, summary + ' — generated ' + D.generated_at),
      h('p', { id: 'hits' }, terms.length ? hits.length + ' match' + (hits.length === 1 ? '' : 'es') + ' for “' + q + '”' : 'Every node:'),
      h('ul', { class: 'results', id: 'results' }, hits.slice(0, limit).map(function (n) {
        return h('li', { 'data-id': n.id },
          h('span', { class: 'badge ' + n.type }, n.type), h('a', { href: hrefOf(n) }, n.name), ' ',
          h('span', { class: 'muted' }, n.desc ? n.desc.slice(0, 160) : ''));
      })),
      hits.length > limit ? h('p', { class: 'muted' }, (hits.length - limit) + ' more — refine the search') : null
    );
  }

  // ---- node page ----
  function deps(list) {
    return (list || []).map(function (d) {
      var n = byId.get(d.node);
      var label = (n ? n.name : d.node) + (d.col ? '.' + d.col : ' (rows)');
      return h('span', { class: 'dep' }, h('span', { class: 'kind ' + d.kind }, d.kind), ' ', link(d.node, label));
    });
  }
  function metaValue(v) {
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  function renderNode(n) {
    var run = n.run;
    var facts = [];
    function fact(k, v) { if (v !== undefined && v !== null && v !== '') facts.push(h('dt', null, k), h('dd', null, v)); }
    fact('owner', n.owner);
    fact('file', n.path);
    fact('relation', n.rel);
    fact('materialized', n.mat);
    Object.keys(n.meta || {}).sort().forEach(function (k) { if (k !== 'owner') fact('meta.' + k, metaValue(n.meta[k])); });
    if (n.attached) fact('tests', link(n.attached));
    var runLine = run ? [status(run), run.rows !== undefined && run.rows !== null ? ' · ' + run.rows.toLocaleString('en') + ' rows' : '',
      ' · ' + run.seconds.toFixed(2) + 's', run.at ? ' · ' + run.at : '', run.message ? ' · ' + run.message : ''] : status(null);
    fill(main, 
      h('h1', { id: 'title' }, n.name),
      h('p', null, h('span', { class: 'badge ' + n.type }, n.type), n.mat ? h('span', { class: 'badge' }, n.mat) : null,
        (n.tags || []).map(function (t) { return h('span', { class: 'badge tag' }, '#' + t); }),
        n.g >= 0 ? h('a', { href: '#/graph/' + n.type + '/' + encodeURIComponent(n.name) }, 'show in graph') : null),
      h('p', { class: 'desc', id: 'desc' }, n.desc || h('span', { class: 'muted' }, 'No description.')),
      h('dl', { class: 'meta' }, facts),
      h('p', { id: 'lastrun' }, 'Last run: ', runLine),
      n.cols && n.cols.length ? [h('h2', null, 'Columns'), h('table', { id: 'columns' },
        h('thead', null, h('tr', null, h('th', null, 'column'), h('th', null, 'type'), h('th', null, 'description'), h('th', null, 'tests'), h('th', null, 'derived from'), h('th', null, 'used by'))),
        h('tbody', null, n.cols.map(function (c) {
          return h('tr', { 'data-column': c.name },
            h('td', { class: 'name' }, c.name), h('td', null, c.type || ''), h('td', { class: 'desc' }, c.desc || ''),
            h('td', null, (n.tests || []).filter(function (t) { return t.col && t.col.toLowerCase() === c.name.toLowerCase(); }).map(function (t) { return h('span', { class: 'dep' }, link(t.id, t.name), ' ', status(t.run)); })),
            h('td', { class: 'lineage' }, c.up && c.up.length ? deps(c.up) : n.type === 'model' ? h('span', { class: 'muted' }, 'no column') : ''),
            h('td', null, deps(usersOfColumn(n, c))));
        })))] : null,
      n.rowdeps && n.rowdeps.length ? [h('h2', null, 'Rows filtered, joined or grouped by'), h('div', { id: 'rowdeps' }, deps(n.rowdeps))] : null,
      n.tests && n.tests.length ? [h('h2', null, 'Tests'), h('table', { id: 'tests' },
        h('thead', null, h('tr', null, h('th', null, 'test'), h('th', null, 'column'), h('th', null, 'status'), h('th', null, 'message'))),
        h('tbody', null, n.tests.map(function (t) {
          return h('tr', null, h('td', { class: 'name' }, link(t.id, t.name)), h('td', null, t.col || ''), h('td', null, status(t.run)), h('td', null, t.run && t.run.message || ''));
        })))] : null,
      n.deps && n.deps.length ? [h('h2', null, 'Depends on'), h('p', null, n.deps.map(function (d) { return [link(d), ' ']; }))] : null,
      childrenOfNode(n).length ? [h('h2', null, 'Referenced by'), h('p', null, childrenOfNode(n).map(function (d) { return [link(d), ' ']; }))] : null,
      n.issues && n.issues.length ? [h('h2', null, 'Lineage not resolved'), h('ul', { class: 'issues' }, n.issues.map(function (s) { return h('li', null, s); }))] : null,
      n.sql ? [h('h2', null, 'Compiled SQL'), h('pre', { id: 'sql' }, n.sql)] : null
    );
  }

  // ---- graph ----
  var G = D.graph, L = G.layout, NW = 220, NH = 24;
  var canvas = document.getElementById('canvas'), ctx = canvas.getContext('2d');
  var view = { s: 1, x: 0, y: 0 }, target = null, focus = -1, near = null, frame = 0, dpr = 1;
  var parentsOf = null, childrenOf = null;
  function adjacency() {
    if (parentsOf) return;
    parentsOf = G.nodes.map(function () { return []; });
    childrenOf = G.nodes.map(function () { return []; });
    G.edges.forEach(function (e) { parentsOf[e[1]].push(e[0]); childrenOf[e[0]].push(e[1]); });
  }
  function resize() {
    dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, canvas.clientWidth * dpr);
    canvas.height = Math.max(1, canvas.clientHeight * dpr);
  }
  function fitView() {
    var w = canvas.clientWidth || 800, hgt = canvas.clientHeight || 600;
    var s = Math.min(w / (L.w + 40), hgt / (L.h + 40), 1.5);
    return { s: s, x: (w - L.w * s) / 2, y: (hgt - L.h * s) / 2 };
  }
  function focusView(gi) {
    var w = canvas.clientWidth || 800, hgt = canvas.clientHeight || 600, s = 1;
    return { s: s, x: w / 2 - (L.x[gi] + NW / 2) * s, y: hgt / 2 - (L.y[gi] + NH / 2) * s };
  }
  function schedule() { if (!frame) frame = requestAnimationFrame(draw); }
  function draw() {
    frame = 0;
    if (target) {
      // Ease toward the target view: smooth focus and fit.
      var k = 0.22, done = true;
      ['s', 'x', 'y'].forEach(function (p) {
        var d = target[p] - view[p];
        if (Math.abs(d) > (p === 's' ? 0.001 : 0.5)) { view[p] += d * k; done = false; } else view[p] = target[p];
      });
      if (done) target = null; else schedule();
    }
    var w = canvas.width, hgt = canvas.height;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    ctx.setTransform(view.s * dpr, 0, 0, view.s * dpr, view.x * dpr, view.y * dpr);
    var x0 = -view.x / view.s, y0 = -view.y / view.s, x1 = x0 + w / dpr / view.s, y1 = y0 + hgt / dpr / view.s;
    function visible(i) { return L.x[i] + NW >= x0 && L.x[i] <= x1 && L.y[i] + NH >= y0 && L.y[i] <= y1; }
    function edges(list, color, width) {
      ctx.beginPath();
      for (var j = 0; j < list.length; j++) {
        var e = list[j], a = e[0], b = e[1];
        var ax = L.x[a] + NW, ay = L.y[a] + NH / 2, bx = L.x[b], by = L.y[b] + NH / 2;
        if (Math.max(ax, bx) < x0 || Math.min(ax, bx) > x1 || Math.max(ay, by) < y0 || Math.min(ay, by) > y1) continue;
        ctx.moveTo(ax, ay);
        ctx.bezierCurveTo(ax + 30, ay, bx - 30, by, bx, by);
      }
      ctx.strokeStyle = color;
      ctx.lineWidth = width / view.s > 4 ? 4 * view.s : width;
      ctx.stroke();
    }
    var dim = focus >= 0;
    edges(G.edges, dim ? 'rgba(148,163,184,0.25)' : 'rgba(100,116,139,0.55)', 1);
    if (dim) edges(G.edges.filter(function (e) { return e[0] === focus || e[1] === focus; }), '#2563eb', 2);
    var detail = view.s > 0.35;
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (var i = 0; i < G.nodes.length; i++) {
      if (!visible(i)) continue;
      var n = D.nodes[G.nodes[i]];
      var hi = !dim || near[i];
      ctx.fillStyle = !hi ? '#eef2f7' : i === focus ? '#2563eb' : n.type === 'source' ? '#bbf7d0' : n.type === 'seed' ? '#fde68a' : '#bfdbfe';
      ctx.fillRect(L.x[i], L.y[i], NW, NH);
      if (detail) {
        ctx.fillStyle = i === focus ? '#fff' : hi ? '#0f172a' : '#94a3b8';
        ctx.fillText(n.name.length > 32 ? n.name.slice(0, 31) + '…' : n.name, L.x[i] + 6, L.y[i] + NH / 2, NW - 10);
      }
    }
    document.getElementById('graphinfo').textContent = G.nodes.length + ' nodes, ' + G.edges.length + ' edges' +
      (focus >= 0 ? ' — ' + D.nodes[G.nodes[focus]].name : '') + ' — drag to pan, wheel to zoom, click a node to open it';
  }
  function showGraph(type, name) {
    adjacency();
    graphview.hidden = false;
    main.hidden = true;
    resize();
    focus = -1;
    near = null;
    if (type) {
      var n = findNode(type, name);
      if (n && n.g >= 0) {
        focus = n.g;
        near = {};
        near[focus] = true;
        parentsOf[focus].forEach(function (p) { near[p] = true; });
        childrenOf[focus].forEach(function (c) { near[c] = true; });
      }
    }
    if (view.s === 1 && view.x === 0 && view.y === 0) view = fitView();
    target = focus >= 0 ? focusView(focus) : fitView();
    draw(); // the first frame is drawn before the page reports ready
    schedule();
  }
  var drag = null;
  canvas.addEventListener('pointerdown', function (ev) {
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, moved: false };
    canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener('pointermove', function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    target = null;
    view.x = drag.vx + dx;
    view.y = drag.vy + dy;
    schedule();
  });
  canvas.addEventListener('pointerup', function (ev) {
    var d = drag;
    drag = null;
    if (!d || d.moved) return;
    var r = canvas.getBoundingClientRect();
    var wx = (ev.clientX - r.left - view.x) / view.s, wy = (ev.clientY - r.top - view.y) / view.s;
    for (var i = 0; i < G.nodes.length; i++) {
      if (wx >= L.x[i] && wx <= L.x[i] + NW && wy >= L.y[i] && wy <= L.y[i] + NH) {
        location.hash = hrefOf(D.nodes[G.nodes[i]]).slice(1);
        return;
      }
    }
  });
  canvas.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    var r = canvas.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
    var base = target || view;
    var s = Math.min(4, Math.max(0.002, base.s * Math.exp(-ev.deltaY * 0.0015)));
    target = { s: s, x: mx - (mx - base.x) * s / base.s, y: my - (my - base.y) * s / base.s };
    schedule();
  }, { passive: false });
  document.getElementById('fit').addEventListener('click', function () { target = fitView(); schedule(); });
  window.addEventListener('resize', function () { if (!graphview.hidden) { resize(); schedule(); } });

  // ---- routing ----
  function route() {
    var hash = location.hash.replace(/^#\/?/, '');
    var parts = hash.split('/');
    var kind = parts[0], rest = parts.slice(1).join('/');
    var name = '';
    try { name = decodeURIComponent(rest); } catch (e) { name = rest; }
    graphview.hidden = true;
    main.hidden = false;
    if (kind === 'graph') {
      var sub = parts.length > 2 ? parts.slice(2).join('/') : '';
      try { sub = decodeURIComponent(sub); } catch (e) { /* keep raw */ }
      showGraph(parts[1] || '', sub);
    } else if (kind === 'model' || kind === 'seed' || kind === 'source' || kind === 'test') {
      var n = findNode(kind, name);
      if (n) renderNode(n);
      else fill(main, h('h1', null, 'Not found'), h('p', null, 'No ' + kind + ' called ', h('code', null, name), '. ', h('a', { href: '#/' }, 'Back to the index')));
    } else if (kind === 'search') {
      search.value = name;
      renderIndex(name);
    } else {
      renderIndex(search.value);
    }
    window.scrollTo(0, 0);
  }
  search.addEventListener('input', function () {
    if (location.hash !== '' && location.hash !== '#/' && location.hash !== '#') location.hash = '#/';
    else renderIndex(search.value);
  });
  window.addEventListener('hashchange', route);
  route();
  document.body.setAttribute('data-ready-ms', String(Math.round(performance.now())));
})();
