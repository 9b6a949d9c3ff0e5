/* ovr console: the unified UI of an ovr.fleet node (edge or cloud). No framework, no CDN:
 * uPlot (shipped beside this file) draws the charts. It talks to its own node only:
 *   edge:  /api/capabilities, /api/realtime/stream (else /api/realtime), /api/peers, /api/vm/..., /api/peers/<id>/vm/...
 *   cloud: /api/capabilities, /api/nodes, /api/v1/query[_range] (the cloud's VictoriaMetrics, signed in)
 * Every answer is kept (localStorage); when the node is out of reach the last one is shown, marked stale. */
(function () {
  "use strict";
  var REALTIME_EVERY = 2000, PEERS_EVERY = 10000, FLEET_EVERY = 15000, CHART_EVERY = 30000;
  var FLEET_STALE_AFTER = 300;  // s: a node not heard from for longer is highlighted
  var MODES = {0: "off", 1: "low power", 2: "fault", 3: "bulk", 4: "absorption", 5: "float", 6: "storage",
               7: "equalise", 8: "passthru", 9: "inverting", 10: "assisting", 256: "discharging", 257: "sustain"};
  var SERIES = [
    ["soc", "SoC", "%", "victron_system_dc_battery_soc"],
    ["voltage", "Voltage", "V", "victron_system_dc_battery_voltage"],
    ["pin", "PV power", "W", "victron_system_dc_pv_power"],
    ["pout", "AC consumption", "W", "sum(victron_system_ac_consumption_power{portal_id=\"$P\"})"]
  ];
  var state = {caps: null, auth: null, offline: false, charts: {}, lastOk: null};

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function fmt(value, digits) { return value === null || value === undefined ? "–" : Number(value).toFixed(digits); }
  function ago(ts) {
    if (!ts) return "never";
    var s = Math.max(0, Math.round(Date.now() / 1000 - ts));
    return s < 90 ? s + " s ago" : s < 5400 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
  }
  function remember(key, doc) {
    try { localStorage.setItem("ovr:" + key, JSON.stringify({at: Date.now() / 1000, doc: doc})); } catch (e) { /* full */ }
  }
  function recall(key) {
    try { return JSON.parse(localStorage.getItem("ovr:" + key)); } catch (e) { return null; }
  }

  // GET a JSON document; on failure the last good one (stale: true), or an error.
  function getJson(path, key, timeoutMs) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, timeoutMs || 5000) : null;
    var headers = state.auth ? {Authorization: "Basic " + state.auth} : {};
    return fetch(path, {headers: headers, cache: "no-store", signal: controller && controller.signal})
      .then(function (response) {
        if (response.status === 401) { var e = new Error("unauthorized"); e.status = 401; throw e; }
        if (!response.ok) { var err = new Error("HTTP " + response.status); err.status = response.status; throw err; }
        return response.json();
      })
      .then(function (doc) { if (key) remember(key, doc); setOnline(true); return {doc: doc, stale: false}; })
      .catch(function (error) {
        if (error.status && error.status !== 502 && error.status !== 503 && error.status !== 504) throw error;
        if (!error.status) setOnline(false);
        var last = key ? recall(key) : null;
        if (last) return {doc: last.doc, stale: true, at: last.at};
        throw error;
      })
      .finally(function () { if (timer) clearTimeout(timer); });
  }

  function setOnline(ok) {
    if (ok) state.lastOk = Date.now() / 1000;
    state.offline = !ok;
    var banner = $("banner");
    banner.hidden = ok;
    if (!ok) {
      banner.textContent = "STALE: this node is out of reach" +
        (state.lastOk ? " since " + new Date(state.lastOk * 1000).toLocaleTimeString() : "") +
        " - showing the last data this phone had";
    }
    document.body.classList.toggle("offline", !ok);
  }

  // ---- edge: this node's GX systems
  function systemCard(system, stale, title) {
    var isStale = stale || system.stale;
    var card = el("div", {"class": "card system" + (isStale ? " stale" : ""), "data-system": system.system_id}, [
      el("h3", {}, [el("span", {text: (title ? title + " · " : "") + system.system_id}),
                    el("span", {"class": "badge" + (isStale ? " stale" : ""), text: isStale ? "stale" : "live"})]),
      el("div", {"class": "values"}, [
        value("soc", fmt(system.soc, 1), "SoC %"), value("voltage", fmt(system.voltage, 2), "battery V"),
        value("mode", system.mode === null || system.mode === undefined ? "–" : (MODES[system.mode] || system.mode), "state"),
        value("pin", fmt(system.pin, 0), "in W"), value("pout", fmt(system.pout, 0), "out W"),
        value("age", ago(system.ts), "heard")])
    ]);
    return card;
  }
  function value(name, text, label) {
    return el("div", {"data-field": name}, [el("b", {text: text}), el("span", {text: label})]);
  }

  function showRealtime(answer) {
    var box = $("systems");
    box.textContent = "";
    if (!answer.doc.systems.length) box.appendChild(el("p", {"class": "muted", text: "No GX system is followed by this node."}));
    answer.doc.systems.forEach(function (system) { box.appendChild(systemCard(system, answer.stale)); });
    box.setAttribute("data-stale", answer.stale ? "true" : "false");
    updateSeriesChoices("local", answer.doc.systems.map(function (s) { return s.system_id; }));
  }
  function refreshRealtime() {
    return getJson("/api/realtime", "realtime", 3000).then(showRealtime)
      .catch(function (error) { $("systems").textContent = "Live values unavailable: " + error.message; });
  }
  // Live values pushed by the node (/api/realtime/stream, server-sent events) as they change; polling
  // /api/realtime while the stream is down (EventSource retries by itself) or absent (an older node).
  function startRealtime() {
    var polling = null;
    function poll() {
      if (polling) return;
      document.body.setAttribute("data-realtime", "polling");
      refreshRealtime();
      polling = setInterval(refreshRealtime, REALTIME_EVERY);
    }
    if (!window.EventSource) { poll(); return; }
    var source = new EventSource("/api/realtime/stream");
    source.onmessage = function (event) {
      var doc;
      try { doc = JSON.parse(event.data); } catch (e) { return; }
      if (polling) { clearInterval(polling); polling = null; }
      document.body.setAttribute("data-realtime", "stream");
      remember("realtime", doc);
      setOnline(true);
      showRealtime({doc: doc, stale: false});
    };
    source.onerror = poll;
    setTimeout(function () { if (!document.body.getAttribute("data-realtime")) poll(); }, 3000);
  }

  // ---- edge: the site's peers, through this node's peer proxy
  function peerQuery(peer, query) {
    return "/api/peers/" + encodeURIComponent(peer.id) + "/vm/api/v1/query?query=" + encodeURIComponent(query);
  }
  function refreshPeers() {
    return getJson("/api/peers", "peers").then(function (answer) {
      var peers = answer.doc.peers || [];
      var box = $("peers");
      if (!peers.length) { box.textContent = "This node has no peers on its site."; return null; }
      return Promise.all(peers.map(function (peer) {
        var q = "last_over_time({__name__=~\"victron_system_dc_battery_(soc|voltage)\"}[5m])";
        return getJson(peerQuery(peer, q), "peer:" + peer.id, 5000)
          .then(function (a) { return {peer: peer, doc: a.doc, reachable: !a.stale}; })
          .catch(function () { return {peer: peer, doc: null, reachable: false}; });
      })).then(function (results) {
        box.textContent = "";
        results.forEach(function (r) {
          var bySystem = {};
          ((r.doc && r.doc.data && r.doc.data.result) || []).forEach(function (item) {
            var id = item.metric.portal_id;
            bySystem[id] = bySystem[id] || {system_id: id};
            var field = item.metric.__name__.replace("victron_system_dc_battery_", "");
            bySystem[id][field] = Number(item.value[1]);
            bySystem[id].ts = Math.max(bySystem[id].ts || 0, item.value[0]);
          });
          var systems = Object.keys(bySystem).sort().map(function (k) { return bySystem[k]; });
          var card = el("div", {"class": "card peer" + (r.reachable ? "" : " stale"), "data-peer": r.peer.id,
                                "data-reachable": r.reachable ? "true" : "false"}, [
            el("h3", {}, [el("span", {text: r.peer.id}),
                          el("span", {"class": "badge" + (r.reachable ? "" : " down"), text: r.reachable ? "reachable" : "unreachable"})]),
            el("div", {"class": "muted", text: systems.length ? systems.length + " GX system(s)" : "no values"})
          ].concat(systems.map(function (s) {
            return el("div", {"class": "values peer-system", "data-system": s.system_id}, [
              value("soc", fmt(s.soc, 1), s.system_id + " SoC %"), value("voltage", fmt(s.voltage, 2), "battery V"),
              value("age", ago(s.ts), "sample")]);
          })));
          box.appendChild(card);
          updateSeriesChoices("peer:" + r.peer.id, systems.map(function (s) { return s.system_id; }));
        });
      });
    }).catch(function (error) { $("peers").textContent = "Peers unavailable: " + error.message; });
  }

  // ---- charts (uPlot): the last hour of one series
  var choices = {};
  function updateSeriesChoices(where, systems) {
    var select = $("series");
    systems.forEach(function (id) {
      SERIES.forEach(function (s) {
        var key = where + "|" + id + "|" + s[0];
        if (choices[key]) return;
        choices[key] = true;
        var label = (where === "local" ? "this node" : where.replace("peer:", "")) + " · " + id + " · " + s[1];
        select.appendChild(el("option", {value: key, text: label}));
      });
    });
    if (!state.chartStarted && select.options.length) { state.chartStarted = true; drawChart(); }
  }
  function seriesQuery(kind, portal) {
    var s = SERIES.filter(function (x) { return x[0] === kind; })[0];
    return s[3].indexOf("$P") >= 0 ? s[3].replace("$P", portal) : s[3] + "{portal_id=\"" + portal + "\"}";
  }
  function rangeUrl(base, query, hours) {
    var end = Math.floor(Date.now() / 1000), start = end - 3600 * (hours || 1);
    var step = Math.max(15, Math.round(3600 * (hours || 1) / 240));
    return base + "/api/v1/query_range?query=" + encodeURIComponent(query) + "&start=" + start + "&end=" + end + "&step=" + step;
  }
  function plot(target, key, title, unit, matrix) {
    var xs = [], ys = [];
    ((matrix && matrix.data && matrix.data.result && matrix.data.result[0]) ? matrix.data.result[0].values : [])
      .forEach(function (p) { xs.push(Number(p[0])); ys.push(Number(p[1])); });
    if (state.charts[key]) { state.charts[key].destroy(); delete state.charts[key]; }
    target.textContent = "";
    target.setAttribute("data-points", String(xs.length));
    var width = Math.max(260, Math.min((target.clientWidth || 600) - 12, 1100));  // inside the padding
    state.charts[key] = new uPlot({
      title: title, width: width, height: 220,
      series: [{}, {label: unit, stroke: "#14324a", width: 2, fill: "rgba(20,50,74,.08)", points: {show: xs.length < 60}}],
      axes: [{}, {label: unit}]
    }, [xs, ys], target);
    return xs.length;
  }
  function drawChart() {
    var key = $("series").value;
    if (!key) return Promise.resolve();
    var parts = key.split("|"), where = parts[0], portal = parts[1], kind = parts[2];
    var base = where === "local" ? "/api/vm" : "/api/peers/" + encodeURIComponent(where.replace("peer:", "")) + "/vm";
    var s = SERIES.filter(function (x) { return x[0] === kind; })[0];
    return getJson(rangeUrl(base, seriesQuery(kind, portal)), "chart:" + key, 8000).then(function (answer) {
      var n = plot($("chart"), "main", $("series").selectedOptions[0].textContent, s[2], answer.doc);
      $("chart-status").textContent = n + " points" + (answer.stale ? " (stale: the node is out of reach)" : "");
    }).catch(function (error) { $("chart-status").textContent = "Chart unavailable: " + error.message; });
  }

  // ---- cloud: the fleet
  function cloudQuery(query) { return "/api/v1/query?query=" + encodeURIComponent(query); }
  function refreshFleet() {
    return Promise.all([
      getJson("/api/nodes", "nodes"),
      getJson(cloudQuery("max by (node) (tlast_over_time({__name__=~\"victron_.*\",node!=\"\"}[1d]))"), "lastseen")
        .catch(function () { return null; }),
      getJson(cloudQuery("count by (node) ({__name__=~\"victron_.*\",node!=\"\"})"), "series").catch(function () { return null; })
    ]).then(function (answers) {
      $("login").hidden = true;
      var nodes = answers[0], seen = {}, count = {};
      ((answers[1] && answers[1].doc.data && answers[1].doc.data.result) || []).forEach(function (r) { seen[r.metric.node] = Number(r.value[1]); });
      ((answers[2] && answers[2].doc.data && answers[2].doc.data.result) || []).forEach(function (r) { count[r.metric.node] = Number(r.value[1]); });
      var box = $("fleet");
      box.textContent = "";
      var now = Date.now() / 1000;
      (nodes.doc.sites || []).forEach(function (site) {
        var rows = (site.nodes || []).map(function (node) {
          var last = seen[node.name] || null, stale = !last || now - last > FLEET_STALE_AFTER || nodes.stale;
          return el("tr", {"class": "node" + (stale ? " stale" : ""), "data-node": node.name, "data-stale": stale ? "true" : "false"}, [
            el("td", {text: node.name}), el("td", {text: String(node.node_id)}),
            el("td", {text: ago(last)}), el("td", {text: count[node.name] === undefined ? "–" : String(count[node.name])}),
            el("td", {}, [el("span", {"class": "badge" + (stale ? " stale" : ""), text: stale ? "stale" : "live"})])]);
        });
        box.appendChild(el("h3", {text: "Site " + site.name + " (" + site.id + ")"}));
        box.appendChild(el("table", {}, [el("thead", {}, [el("tr", {}, ["node", "id", "last seen", "series", ""].map(function (t) { return el("th", {text: t}); }))]),
                                          el("tbody", {}, rows)]));
        (site.nodes || []).forEach(function (node) { nodeChart(node.name); });
      });
    }).catch(function (error) {
      if (error.status === 401) { state.auth = null; sessionStorage.removeItem("ovr:auth"); showLogin("Sign in failed or expired."); return; }
      $("fleet").textContent = "Fleet unavailable: " + error.message;
    });
  }
  function nodeChart(name) {
    var id = "chart-node-" + name;
    var holder = document.getElementById(id);
    if (!holder) { holder = el("div", {"class": "node-chart", id: id, "data-node": name}); $("fleet-charts").appendChild(holder); }
    var query = "avg(victron_system_dc_battery_soc{node=\"" + name + "\"})";
    return getJson(rangeUrl("", query), "chart:node:" + name, 8000)
      .then(function (answer) { plot(holder, "node:" + name, name + " · average SoC", "%", answer.doc); })
      .catch(function () { holder.textContent = name + ": no chart"; });
  }
  function showLogin(message) {
    $("login").hidden = false;
    $("fleet").textContent = message || "";
  }

  // ---- start
  function every(fn, ms) { fn(); setInterval(fn, ms); }
  function start(caps, stale) {
    state.caps = caps;
    $("title").textContent = "ovr " + caps.kind + " · " + caps.node;
    $("whoami").textContent = (caps.site ? "site " + caps.site + " · " : "") + "collection " + caps.version +
      (stale ? " · (cached)" : "");
    $("footer").textContent = "ovr.fleet " + caps.version;
    if (caps.kind === "edge") {
      $("systems-section").hidden = false;
      $("peers-section").hidden = false;
      $("chart-section").hidden = false;
      $("series").addEventListener("change", drawChart);
      startRealtime();
      every(refreshPeers, PEERS_EVERY);
      setInterval(drawChart, CHART_EVERY);
    } else {
      $("fleet-section").hidden = false;
      $("fleet-section").appendChild(el("div", {id: "fleet-charts"}));
      state.auth = sessionStorage.getItem("ovr:auth");
      $("login-form").addEventListener("submit", function (event) {
        event.preventDefault();
        state.auth = btoa($("login-user").value + ":" + $("login-password").value);
        sessionStorage.setItem("ovr:auth", state.auth);
        refreshFleet();
      });
      if (!state.auth) showLogin();
      setInterval(function () { if (state.auth) refreshFleet(); }, FLEET_EVERY);
      if (state.auth) refreshFleet();
    }
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").then(function (reg) {
      document.documentElement.setAttribute("data-sw", "registered");
      return navigator.serviceWorker.ready;
    }).then(function () { document.documentElement.setAttribute("data-sw", "ready"); })
      .catch(function (e) { document.documentElement.setAttribute("data-sw", "failed: " + e.message); });
  } else {
    document.documentElement.setAttribute("data-sw", "unsupported");
  }
  getJson("/api/capabilities", "capabilities", 4000)
    .then(function (answer) { start(answer.doc, answer.stale); })
    .catch(function (error) { $("main").textContent = "This node does not answer /api/capabilities: " + error.message; });
})();
