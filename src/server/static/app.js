// sluice's dashboard script: draws the charts from the page's JSON block with uPlot, sorts and
// filters tables, and keeps the page live: on a `change` event it re-fetches the page and swaps
// its <main> (HTML the server escaped), then draws again. No inline script, no eval.
"use strict";
(function () {
  var plots = [];
  var css = function (name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); };
  var PALETTE = ["--c1", "--c2", "--c3", "--c4", "--c5", "--c6", "--c7", "--c8"];
  var fmt = {
    usd: function (v) { return v == null ? "" : "$" + (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)); },
    tokens: function (v) { return v == null ? "" : v >= 1e9 ? (v / 1e9).toFixed(1) + "G" : v >= 1e6 ? (v / 1e6).toFixed(1) + "M" : v >= 1e3 ? (v / 1e3).toFixed(0) + "k" : String(v); },
    ms: function (v) { return v == null ? "" : v.toFixed(0) + " ms"; },
    calls: function (v) { return v == null ? "" : String(Math.round(v)); },
  };

  function draw() {
    plots.forEach(function (p) { p.destroy(); });
    plots = [];
    var block = document.getElementById("charts");
    if (!block || typeof uPlot === "undefined") return;
    var charts = JSON.parse(block.textContent);
    charts.forEach(function (c) {
      var el = document.querySelector('[data-chart="' + c.id + '"]');
      if (!el) return;
      var xs = c.x.map(function (d) { return Date.parse(d + "T12:00:00Z") / 1000; });
      var data = [xs];
      var acc = xs.map(function () { return 0; });
      // stacked: each series drawn as the running sum, the last on top, filled down to the one below
      c.series.forEach(function (s) {
        if (c.stacked) { acc = acc.map(function (a, i) { return a + (s.values[i] || 0); }); data.push(acc.slice()); }
        else data.push(s.values);
      });
      var f = fmt[c.unit] || fmt.calls;
      var series = [{}].concat(c.series.map(function (s, i) {
        var color = css(PALETTE[i % PALETTE.length]) || "#888";
        return { label: s.label, stroke: color, fill: c.stacked ? color + "55" : undefined, width: 1.5, spanGaps: !c.stacked,
          value: function (u, v, si, idx) { return idx == null ? "" : f(c.series[si - 1].values[idx]); } };
      }));
      var bands = [];
      if (c.stacked) for (var i = c.series.length; i > 1; i--) bands.push({ series: [i, i - 1] });
      var axis = { stroke: css("--fg"), grid: { stroke: css("--grid") }, ticks: { stroke: css("--grid") } };
      var opts = {
        width: Math.max(200, el.clientWidth), height: 220, series: series, bands: bands,
        axes: [axis, Object.assign({}, axis, { size: 60, values: function (u, vals) { return vals.map(f); } })],
        legend: { live: true }, cursor: { drag: { x: false, y: false } }, scales: { x: { time: true }, y: c.stacked ? { range: function (u, min, max) { return [0, max > 0 ? max * 1.05 : 1]; } } : {} },
      };
      if (!xs.length) { el.textContent = "No data in this period."; return; }
      plots.push(new uPlot(opts, data, el));
    });
  }

  function resize() {
    plots.forEach(function (p) { var el = p.root.parentElement; if (el) p.setSize({ width: Math.max(200, el.clientWidth), height: 220 }); });
  }

  function sortable() {
    document.querySelectorAll("table.sortable").forEach(function (table) {
      table.querySelectorAll("th").forEach(function (th, col) {
        th.tabIndex = 0;
        th.addEventListener("click", function () {
          var asc = th.getAttribute("aria-sort") !== "ascending";
          table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", asc ? "ascending" : "descending");
          var num = th.dataset.type === "num";
          var body = table.tBodies[0];
          var rows = Array.prototype.slice.call(body.rows);
          var key = function (r) { var td = r.cells[col]; var v = td.dataset.sort != null ? td.dataset.sort : td.textContent; return num ? Number(v) : v.toLowerCase(); };
          rows.sort(function (a, b) { var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); });
          rows.forEach(function (r) { body.appendChild(r); });
        });
      });
    });
    var filter = document.getElementById("filter");
    if (filter) {
      var apply = function () {
        var q = filter.value.toLowerCase();
        document.querySelectorAll("#sessions tbody tr").forEach(function (r) { r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0; });
      };
      filter.addEventListener("input", apply);
      apply();
    }
  }

  function setup() { draw(); sortable(); }

  // What a reader changed on the page and a live update must not undo: what they typed into a
  // field, and which tool calls they unfolded.
  function keep() {
    var main = document.getElementById("main");
    var fields = {}, open = [];
    main.querySelectorAll("input[id], input[name], select[name]").forEach(function (el) { fields[el.id || el.name] = el.value; });
    main.querySelectorAll("details[open][id]").forEach(function (d) { open.push(d.id); });
    var focused = document.activeElement && main.contains(document.activeElement) ? (document.activeElement.id || document.activeElement.name) : null;
    return function () {
      main.querySelectorAll("input[id], input[name], select[name]").forEach(function (el) { var k = el.id || el.name; if (k in fields && el.type !== "hidden") el.value = fields[k]; });
      open.forEach(function (id) { var d = document.getElementById(id); if (d) d.open = true; });
      if (focused) { var f = main.querySelector("#" + CSS.escape(focused) + ", [name='" + focused.replace(/[^\w-]/g, "") + "']"); if (f) f.focus(); }
    };
  }

  var refreshing = false, again = false;
  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    fetch(location.href, { headers: { "x-sluice-fragment": "1" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok && r.status !== 400 && r.status !== 404) throw new Error(String(r.status)); return r.text(); })
      .then(function (text) {
        var restore = keep();
        document.getElementById("main").innerHTML = text;
        restore();
        setup();
        document.body.dataset.updated = String(Date.now());
      })
      .catch(function () {})
      .then(function () { refreshing = false; if (again) { again = false; refresh(); } });
  }

  function live() {
    if (typeof EventSource === "undefined") return;
    var dot = document.getElementById("live");
    var es = new EventSource("/api/events");
    es.addEventListener("hello", function () { if (dot) dot.className = "on"; });
    es.addEventListener("change", refresh);
    es.onerror = function () { if (dot) dot.className = ""; };
  }

  // A link to a message inside a folded tool call (a search hit) unfolds it.
  function reveal() {
    var id = location.hash.slice(1);
    var el = id && document.getElementById(id);
    if (!el) return;
    for (var d = el; d; d = d.parentElement) if (d.tagName === "DETAILS") d.open = true;
    el.scrollIntoView({ block: "center" });
  }

  document.addEventListener("DOMContentLoaded", function () { setup(); live(); reveal(); });
  window.addEventListener("hashchange", reveal);
  window.addEventListener("resize", resize);
  if (window.matchMedia) window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", draw);
})();
