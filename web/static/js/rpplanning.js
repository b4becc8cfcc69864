/* ruralplan planning page: the form → GET run.json → sites, allocation lines and
 * service areas on the folium/Leaflet map, the explanation and by-town tables;
 * scenarios saved with POST + CSRF, listed, shown, compared, exported.
 * All text from the server or the user goes in with textContent, never innerHTML. */
(function () {
  "use strict";
  var RPPlan = (window.RPPlan = {});
  var PALETTE = ["#e41a1c", "#ff7f00", "#984ea3", "#a65628", "#f781bf", "#4daf4a", "#377eb8", "#b8860b", "#e7298a", "#1b9e77"];
  var cfg, map, control, msg;
  var groups = {};
  var drawn = [];
  var current = null; // {query, payload}

  // ------------------------------------------------------------------ helpers
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function t(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (m, k) { return values && k in values ? values[k] : m; });
  }
  var lang = document.documentElement.lang || "zh-CN";
  function num(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    if (Math.abs(v) < 1e-9) v = 0;  // no "-0"

    return Number(v).toLocaleString(lang, { maximumFractionDigits: digits === undefined ? 0 : digits });
  }
  function pct(v) { return v === null || v === undefined || !isFinite(v) ? "–" : (100 * v).toFixed(1) + "%"; }
  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ""; }
  function td(text, cls) { return el("td", cls, text); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  // Leaflet inserts string tooltips as HTML: names from the data go in as text
  function tip(text) { return el("span", "", text); }

  function getJSON(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    return fetch(url, options).then(function (r) {
      var type = r.headers.get("Content-Type") || "";
      if (type.indexOf("json") < 0) {
        // e.g. the login page after a redirect: the session expired
        throw new Error(msg.failed + " (HTTP " + r.status + ")");
      }
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.message) || msg.failed);
        return data;
      });
    });
  }

  // ------------------------------------------------------------------ form
  var form;
  function demandSpec() {
    var kind = form.querySelector("input[name=demand_kind]:checked").value;
    var commodities = Array.prototype.map.call(form.querySelectorAll("input[name=commodity]:checked"), function (c) { return c.value; });
    if (kind !== "mix" && kind !== "produce") return kind;
    if (kind === "produce") return commodities.length ? "produce:" + commodities.join(",") : "";
    var terms = [];
    form.querySelectorAll("#rp-mix input[data-measure]").forEach(function (input) {
      var f = parseFloat(input.value);
      if (!(f > 0)) return;
      var m = input.dataset.measure;
      if (m === "produce") {
        if (!commodities.length) return;
        m = "produce:" + commodities.join(",");
      }
      terms.push(f === 1 ? m : m + "*" + f);
    });
    return terms.join("+");
  }

  // the demand weight in words (web.views.planning.demand_text, same rules)
  function demandText(spec) {
    var d = msg.demand || {};
    return spec.split("+").map(function (term) {
      var factor = term.split("*")[1], body = term.split("*")[0].split(":"), text;
      if (body[0] === "produce") {
        text = t(d.produce, { names: (body[1] || "").split(",").filter(Boolean).map(function (c) {
          return (d.commodities || {})[c] || c;
        }).join(", ") });
      } else {
        text = (d.measures || {})[body[0]] || body[0];
      }
      return factor ? text + " ×" + factor : text;
    }).join(" + ");
  }

  function syncForm() {
    var model = form.querySelector("input[name=model]:checked").value;
    var kind = form.querySelector("input[name=demand_kind]:checked").value;
    var limit = form.querySelector("input[name=limit]:checked").value;
    $("rp-commodities").hidden = kind !== "produce" && kind !== "mix";
    $("rp-mix").hidden = kind !== "mix";
    $("rp-cmclp-box").hidden = model !== "cmclp";
    $("rp-lscp-note").hidden = model !== "lscp";
    $("rp-target-box").hidden = model !== "lscp";
    $("rp-target").disabled = model !== "lscp";
    $("rp-decay-box").hidden = model !== "attendance";
    $("rp-decay").disabled = $("rp-beta").disabled = model !== "attendance";
    $("rp-p").disabled = model === "lscp" || limit !== "p";
    $("rp-budget").disabled = model === "lscp" || limit !== "budget";
    $("rp-drawn-box").hidden = $("rp-candidates").value !== "drawn";
    var defaults = JSON.parse($("rp-site-cost").dataset.defaults || "{}");
    $("rp-site-cost").placeholder = defaults[$("rp-facility").value] || "";
    var spec = demandSpec();
    $("rp-demand").value = spec;
    $("rp-demand-preview").textContent = spec ? demandText(spec) : "–";
    $("rp-demand-preview").title = spec;
    $("rp-points").value = drawn.map(function (d) { return d.lon + "," + d.lat; }).join(";");
    $("rp-drawn-count").textContent = t(msg.drawn_count, { n: drawn.length });
    if (groups.facilities) loadFacilities();
  }

  function query() {
    syncForm();
    var data = new FormData(form);
    data.delete("demand_kind");
    data.delete("commodity");
    if (!form.querySelector("input[name=keep_existing]").checked) data.set("keep_existing", "0");
    if (!form.querySelector("input[name=split]").checked) data.set("split", "0");
    var params = new URLSearchParams();
    data.forEach(function (v, k) { if (v !== "") params.append(k, v); });
    if (data.get("candidates") !== "drawn") params.delete("points");
    return params;
  }

  function restoreForm(params) {
    // the page's own URL carries the last question (bookmark, reload, back)
    ["facility", "candidates", "scenario"].forEach(function (k) {
      if (params.get(k) && form.elements[k]) form.elements[k].value = params.get(k);
    });
    ["p", "budget", "site_cost", "minutes", "time_limit", "new_capacity_t", "target_pct", "beta", "curve", "decay"].forEach(function (k) {
      if (params.has(k)) form.elements[k].value = params.get(k);
    });
    ["model", "limit"].forEach(function (k) {
      var input = params.get(k) && form.querySelector("input[name=" + k + "][value='" + CSS.escape(params.get(k)) + "']");
      if (input) input.checked = true;
    });
    if (params.get("keep_existing") === "0") form.elements.keep_existing.checked = false;
    if (params.get("split") === "0") form.elements.split.checked = false;
    var spec = params.get("demand") || "population";
    var terms = spec.split("+");
    var kind = terms.length === 1 ? terms[0].split(":")[0].split("*")[0] : "mix";
    if (terms.length === 1 && terms[0].indexOf("*") >= 0) kind = "mix";
    if (kind === "villages") kind = "mix";
    var radio = form.querySelector("input[name=demand_kind][value='" + CSS.escape(kind) + "']");
    if (radio) radio.checked = true;
    form.querySelectorAll("#rp-mix input[data-measure]").forEach(function (i) { i.value = 0; });
    terms.forEach(function (term) {
      var body = term.split("*")[0], factor = term.split("*")[1] || "1";
      var name = body.split(":")[0], args = body.split(":")[1];
      if (args) args.split(",").forEach(function (c) {
        var box = form.querySelector("input[name=commodity][value='" + CSS.escape(c) + "']");
        if (box) box.checked = true;
      });
      var input = form.querySelector("#rp-mix input[data-measure='" + CSS.escape(name) + "']");
      if (input) input.value = factor;
    });
    drawn = [];
    (params.get("points") || "").split(";").forEach(function (pair) {
      var xy = pair.split(",").map(Number);
      if (xy.length === 2 && isFinite(xy[0]) && isFinite(xy[1])) addPoint(xy[1], xy[0]);
    });
  }

  // ------------------------------------------------------------------ map layers
  function addGroup(name, show) {
    var group = L.featureGroup();
    groups[name] = group;
    if (show) group.addTo(map);
    control.addOverlay(group, msg.layers[name]);
    return group;
  }

  function loadContext() {
    var layerUrl = function (name) { return cfg.layer_url.replace("LAYER", name); };
    var renderer = L.canvas({ padding: 0.3 });
    getJSON(layerUrl("boundaries")).then(function (data) {
      L.geoJSON(data, { renderer: renderer, interactive: false, style: function (f) {
        var county = f.properties && f.properties.level === "county";
        return { color: county ? "#2c3e50" : "#7f8c8d", weight: county ? 2.5 : 1, dashArray: county ? null : "4 3", fill: false };
      } }).addTo(groups.boundaries);
    }).catch(function () {});
    getJSON(layerUrl("roads")).then(function (data) {
      L.geoJSON(data, { renderer: renderer, interactive: false, style: function (f) {
        var major = ["expressway", "national", "provincial", "county"].indexOf(f.properties && f.properties.road_class) >= 0;
        return { color: major ? "#9c8f7a" : "#c9c3b8", weight: major ? 2 : 1, opacity: 0.9 };
      } }).addTo(groups.roads);
    }).catch(function () {});
    getJSON(layerUrl("villages")).then(function (data) {
      L.geoJSON(data, { pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { renderer: renderer, radius: 2.5, color: "#607d8b", weight: 1, fillOpacity: 0.6 })
          .bindTooltip(tip(String(f.properties.name || "") + (f.properties.town ? " · " + f.properties.town : "")));
      } }).addTo(groups.villages);
    }).catch(function () {});
    loadFacilities();
  }

  var facilityShown = null;
  function loadFacilities() {
    var layer = $("rp-facility").value;
    if (facilityShown === layer) return;
    facilityShown = layer;
    groups.facilities.clearLayers();
    getJSON(cfg.layer_url.replace("LAYER", layer)).then(function (data) {
      if (facilityShown !== layer) return;
      L.geoJSON(data, { pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: 5, color: "#1f3a5f", weight: 1.5, fill: false });
      }, style: function () { return { color: "#1f3a5f", weight: 1, fillOpacity: 0.1 }; },
      onEachFeature: function (f, lyr) { lyr.bindTooltip(tip(String(f.properties.name || ""))); } }).addTo(groups.facilities);
    }).catch(function () {});
  }

  function siteIcon(cls, text, color) {
    var span = el("span", "rp-plan-marker " + cls, text);
    if (color) span.style.setProperty("--c", color);
    return L.divIcon({ className: "rp-plan-icon", html: span.outerHTML, iconSize: null });
  }

  function addPoint(lat, lon) {
    var point = { lat: Math.round(lat * 1e6) / 1e6, lon: Math.round(lon * 1e6) / 1e6 };
    point.marker = L.marker([point.lat, point.lon], { icon: siteIcon("rp-plan-drawn", ""), keyboard: false })
      .bindTooltip(tip(t(msg.drawn, { n: drawn.length + 1 }) + " · " + msg.remove_point))
      .on("click", function () {
        groups.drawn.removeLayer(point.marker);
        drawn.splice(drawn.indexOf(point), 1);
        syncForm();
      });
    point.marker.addTo(groups.drawn);
    drawn.push(point);
  }

  // ------------------------------------------------------------------ result
  function colorOf(payload) {
    var colors = {}, i = 0;
    payload.result.sites.forEach(function (s) { if (!s.fixed) colors[s.id] = PALETTE[i++ % PALETTE.length]; });
    return colors;
  }

  function drawResult(payload) {
    var colors = colorOf(payload);
    var numbers = {}, n = 0;
    payload.result.sites.forEach(function (s) { if (!s.fixed) numbers[s.id] = ++n; });
    ["areas", "allocations", "sites"].forEach(function (k) { groups[k].clearLayers(); });
    L.geoJSON(payload.allocations, { interactive: false, style: function (f) {
      var c = colors[f.properties.site_id];
      return { color: c || "#4a6580", weight: 1, opacity: c ? 0.75 : 0.4 };
    } }).addTo(groups.allocations);
    L.geoJSON(payload.sites, { pointToLayer: function (f, latlng) {
      var p = f.properties;
      var icon = p.fixed ? siteIcon("rp-plan-existing", "") : siteIcon("rp-plan-new", numbers[p.id], colors[p.id]);
      return L.marker(latlng, { icon: icon, zIndexOffset: p.fixed ? 0 : 1000, keyboard: false });
    }, onEachFeature: function (f, lyr) {
      var p = f.properties;
      lyr.bindTooltip(tip((p.fixed ? msg.existing_site : msg.suggested) + ": " + p.name + " — " +
        t(msg.served, { d: withUnit(p.demand_served, payload), n: p.demand_count })));
    } }).addTo(groups.sites);
    if (payload.areas) drawAreas(payload.areas, colors);
  }

  function drawAreas(areas, colors) {
    colors = colors || (current && colorOf(current.payload)) || {};
    groups.areas.clearLayers();
    L.geoJSON(areas, { style: function (f) {
      var c = colors[f.properties.site_id] || "#e41a1c";
      return { color: c, weight: 1, opacity: 0.7, fillColor: c, fillOpacity: 0.13 };
    }, onEachFeature: function (f, lyr) {
      lyr.bindTooltip(tip(f.properties.site_name + " · " + t(msg.area, { m: f.properties.cutoff_min }) +
        " · " + num(f.properties.area_km2, 1) + " km²"));
    } }).addTo(groups.areas);
    groups.areas.bringToBack();
  }

  // tonnes carry their unit (吨 / t); other weights (people, households) are counts
  function withUnit(v, payload) {
    var text = num(v, 1);
    return payload && payload.unit === "t" && text !== "–" ? text + " " + msg.unit_t : text;
  }

  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  // The coverage curve: line = optimal share per k, bars = what each extra site adds.
  function drawCurve(payload) {
    var curve = payload.result.curve, box = $("rp-curve-box");
    box.hidden = !curve;
    if (!curve) return;
    var c = msg.curve, pts = curve.points, byBudget = curve.params && curve.params.budgets_wan;
    var W = 560, H = 240, L = 48, R = 28, T = 12, B = 36, n = pts.length;
    var chart = $("rp-curve-chart");
    clear(chart);
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": c.caption });
    var x = function (i) { return L + (n <= 1 ? 0 : i * (W - L - R) / (n - 1)); };
    var y = function (v) { return T + (1 - v) * (H - T - B); };
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      root.appendChild(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#ddd" }));
      root.appendChild(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11 }, pct(v)));
    });
    var bw = Math.max(4, (W - L - R) / Math.max(n, 1) * 0.5);
    var line = [];
    pts.forEach(function (p, i) {
      if (i > 0) {
        root.appendChild(svg("rect", { x: x(i) - bw / 2, y: y(p.gain_share), width: bw, height: Math.max(0, y(0) - y(p.gain_share)),
          fill: "#9ecae1" })).appendChild(svg("title", {}, pct(p.gain_share)));
      }
      line.push(x(i) + "," + y(p.share));
      var label = byBudget ? num(p.budget_wan) : p.k;
      root.appendChild(svg("text", { x: x(i), y: H - B + 16, "text-anchor": "middle", "font-size": 11 }, label));
    });
    root.appendChild(svg("polyline", { points: line.join(" "), fill: "none", stroke: "#e41a1c", "stroke-width": 2 }));
    pts.forEach(function (p, i) {
      root.appendChild(svg("circle", { cx: x(i), cy: y(p.share), r: 3.5, fill: p.status === "optimal" ? "#e41a1c" : "#fff",
        stroke: "#e41a1c" })).appendChild(svg("title", {}, pct(p.share)));
    });
    root.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 4, "text-anchor": "middle", "font-size": 11 }, byBudget ? c.budget : c.k));
    chart.appendChild(root);
    $("rp-curve-caption").textContent = t(c.caption, { m: num(curve.radius_min) });
    var table = $("rp-curve-table");
    clear(table.tHead);
    clear(table.tBodies[0]);
    var hr = el("tr");
    [byBudget ? c.budget : c.k, c.covered, c.share, c.gain, c.status, c.sites].forEach(function (h, i) {
      hr.appendChild(el("th", i && i < 4 ? "num" : "", h));
    });
    table.tHead.appendChild(hr);
    var drop = null;
    pts.forEach(function (p, i) {
      var tr = el("tr");
      tr.appendChild(td(byBudget ? num(p.budget_wan) + " (" + p.k + ")" : p.k));
      tr.appendChild(td(withUnit(p.covered, payload), "num"));
      tr.appendChild(td(pct(p.share), "num"));
      tr.appendChild(td(i ? withUnit(p.gain, payload) + " (" + pct(p.gain_share) + ")" : "–", "num"));
      tr.appendChild(td(msg.status[p.status] || p.status));
      tr.appendChild(td((p.site_names || p.sites).join(lang.indexOf("zh") === 0 ? "、" : ", ")));
      table.tBodies[0].appendChild(tr);
      if (i > 1 && drop === null && p.gain_share < 0.05 && !byBudget) drop = p;
    });
    $("rp-curve-note").textContent = drop ? t(c.drop, { k: drop.k, pct: pct(drop.gain_share) }) : "";
  }

  function fillTables(payload) {
    var r = payload.result, colors = colorOf(payload), n = 0;
    var body = $("rp-sites").tBodies[0];
    clear(body);
    r.sites.forEach(function (s) {
      var tr = el("tr", s.fixed ? "rp-existing-row" : "rp-new-row");
      var name = td("");
      if (!s.fixed) {
        var badge = el("span", "rp-plan-marker rp-plan-new rp-plan-badge", ++n);
        badge.style.setProperty("--c", colors[s.id]);
        name.appendChild(badge);
      }
      name.appendChild(document.createTextNode(s.name));
      tr.appendChild(name);
      tr.appendChild(td(s.fixed ? msg.existing : msg["new"]));
      tr.appendChild(td(withUnit(s.demand_served, payload), "num"));
      tr.appendChild(td(s.demand_count, "num"));
      tr.appendChild(td(num(s.loss_if_removed, 1), "num"));
      // the planner writes "name (≤7 min)": the unit in the page's language
      tr.appendChild(td(s.fixed ? "–" : (s.nearest_existing || msg.none).replace(/ min\)$/, " " + msg.min_unit + ")")));
      tr.appendChild(td(s.runner_up ? s.runner_up + " (" + num(s.runner_up_delta, 1) + ")" : "–"));
      body.appendChild(tr);
    });

    var towns = $("rp-by-town"), tb = towns.tBodies[0];
    clear(tb);
    r.by_town.forEach(function (row) {
      var tr = el("tr", row.covered_after > row.covered_before + 1e-9 ? "rp-gain-row" : "");
      tr.appendChild(td(row.town || "–"));
      tr.appendChild(td(row.villages, "num"));
      tr.appendChild(td(withUnit(row.demand, payload), "num"));
      tr.appendChild(td(withUnit(row.covered_before, payload), "num"));
      tr.appendChild(td(withUnit(row.covered_after, payload), "num"));
      tr.appendChild(td(pct(row.share_before) + " → " + pct(row.share_after), "num"));
      tr.appendChild(td(num(row.mean_minutes_before, 2) + " → " + num(row.mean_minutes_after, 2), "num"));
      tb.appendChild(tr);
    });
    var tot = r.totals, foot = towns.tFoot;
    clear(foot);
    var ftr = el("tr");
    [el("th", "", "∑"), td("", "num"), td(withUnit(tot.demand, payload), "num"), td(withUnit(tot.covered_before, payload), "num"),
      td(withUnit(tot.covered_after, payload), "num"),
      td(pct(tot.demand ? tot.covered_before / tot.demand : null) + " → " + pct(tot.demand ? tot.covered_after / tot.demand : null), "num"),
      td("", "num")].forEach(function (c) { ftr.appendChild(c); });
    foot.appendChild(ftr);

    var un = $("rp-unreachable").tBodies[0];
    clear(un);
    r.unreachable.forEach(function (u) {
      var tr = el("tr");
      tr.appendChild(td(u.village_name));
      tr.appendChild(td(u.town || ""));
      tr.appendChild(td(num(u.weight, 1), "num"));
      tr.appendChild(td(msg.reason[u.reason] || u.reason));
      un.appendChild(tr);
    });
    $("rp-unreachable-box").hidden = r.unreachable.length === 0;

    var s = r.solver, dl = $("rp-solver");
    clear(dl);
    // the method in words (the planner's code in the tooltip); the bound named by the model's sense
    [["method", payload.method_text || s.method], ["status", msg.status[s.status] || s.status], ["objective", num(s.objective, 1)],
      ["bound", num(s.bound, 1)], ["gap", s.gap === null ? "–" : (100 * s.gap).toFixed(2) + "%"],
      ["seconds", num(s.seconds, 3)]].forEach(function (pair) {
      dl.appendChild(el("dt", "", pair[0] === "bound" && payload.bound_label ? payload.bound_label : cfg.i18n.facts[pair[0]]));
      var dd = dl.appendChild(el("dd", "", pair[1]));
      if (pair[0] === "method") dd.title = s.method;
    });
    var timing = payload.timing || {};
    if (timing.total_ms !== undefined) {
      dl.appendChild(el("dt", "", cfg.i18n.facts.server));
      dl.appendChild(el("dd", "", t(msg.server_ms, { ms: num(timing.total_ms) }) + (timing.cached ? " · " + msg.cached : "")));
    }
    var newNames = r.sites.filter(function (x) { return !x.fixed; }).map(function (x) { return x.name; });
    $("rp-plan-summary").textContent = t(cfg.i18n.summary, {
      n: newNames.length, names: newNames.join(lang.indexOf("zh") === 0 ? "、" : ", "), before: num(tot.covered_before), after: num(tot.covered_after),
      total: num(tot.demand), m: r.minutes === null ? "–" : num(r.minutes)
    });
    if (payload.base_network && cfg.i18n.scenario_base) {  // planned on a network scenario
      $("rp-plan-summary").textContent += " " + t(cfg.i18n.scenario_base, {
        scenario: payload.scenario, after: num(payload.base_network.totals.covered_after),
        names: payload.base_network.new_sites.join(lang.indexOf("zh") === 0 ? "、" : ", ")
      });
    }
    if (r.estimate && msg.estimate) {  // no roads layer: the minutes are a straight-line estimate
      $("rp-plan-summary").textContent += " " + t(msg.estimate, {
        factor: String(r.estimate.detour_factor), speed: String(r.estimate.speed_kmh) });
    }
    $("rp-demand-unit").textContent = cfg.i18n.weight_is + " " + payload.weight_text;
    $("rp-cutoff-note").textContent = r.minutes === null ? "" : t(cfg.i18n.within, { m: num(r.minutes) });
    drawCurve(payload);
  }

  function showPayload(payload, qs) {
    current = { query: qs, payload: payload };
    $("rp-plan-result").hidden = false;
    drawResult(payload);
    fillTables(payload);
    $("rp-export-geojson").href = cfg.export_geojson_url + "?" + qs;
    $("rp-export-xlsx").href = cfg.export_xlsx_url + "?" + qs;
    $("rp-export-print").href = cfg.print_url + "?" + qs;
  }

  function setStatus(text, isError) {
    $("rp-plan-status").textContent = isError ? "" : text;
    $("rp-plan-error").hidden = !isError;
    $("rp-plan-error").textContent = isError ? text : "";
    if (isError) $("rp-plan-error").scrollIntoView({ block: "nearest" });
    // a refused question leaves the previous answer on screen: mark it as not this one
    $("rp-plan-result").classList.toggle("rp-stale", !!isError);
  }

  function run(event) {
    if (event) event.preventDefault();
    var params = query();
    if (params.get("candidates") === "drawn" && !drawn.length) {
      setStatus(msg.no_points, true);  // the server says the same; no need to ask it
      RPPlan.runs = (RPPlan.runs || 0) + 1;
      return Promise.resolve();
    }
    var qs = params.toString();
    history.replaceState(null, "", location.pathname + "?" + qs + location.hash);
    setStatus(msg.running);
    $("rp-run").disabled = true;
    var started = performance.now();
    RPPlan.busy = true;
    return getJSON(cfg.run_url + "?" + qs + "&areas=defer").then(function (payload) {
      RPPlan.last = payload;
      showPayload(payload, qs);
      RPPlan.answerMs = Math.round(performance.now() - started);  // sites, map and tables shown
      setStatus(t(msg.server_ms, { ms: num(payload.timing.total_ms) }) + " · " + msg.areas_loading);
      // service areas are the slow part: they follow, the sites and tables are already there
      return getJSON(cfg.areas_url + "?" + qs).then(function (areas) {
        if (!current || current.query !== qs) return;
        current.payload.areas = areas;
        drawAreas(areas);
        RPPlan.areasMs = Math.round(performance.now() - started);
        setStatus(t(msg.server_ms, { ms: num(payload.timing.total_ms) }));
      }, function () { setStatus(msg.areas_failed); });
    }).catch(function (err) {
      setStatus(err.message, true);
    }).then(function () {
      $("rp-run").disabled = false;
      RPPlan.busy = false;
      RPPlan.runs = (RPPlan.runs || 0) + 1;
    });
  }

  // ------------------------------------------------------------------ scenarios
  function saveScenario(event) {
    event.preventDefault();
    if (!current) { $("rp-save-status").textContent = msg.run_first; return; }
    var body = new URLSearchParams(current.query);
    body.set("name", $("rp-scenario-name").value);
    $("rp-save").disabled = true;
    getJSON(cfg.save_url, { method: "POST", body: body, headers: { "X-CSRFToken": csrf() } }).then(function (data) {
      $("rp-save-status").textContent = t(msg.saved, { name: data.scenario.name });
      $("rp-scenario-name").value = "";
      return loadScenarios();
    }).catch(function (err) {
      $("rp-save-status").textContent = err.message;
    }).then(function () { $("rp-save").disabled = false; });
  }

  function actionLink(text, href, download) {
    var a = el("a", "rp-download", text);
    a.href = href;
    if (download) a.setAttribute("download", "");
    return a;
  }

  function loadScenarios() {
    return getJSON(cfg.scenarios_url).then(function (data) {
      var body = $("rp-scenario-table").tBodies[0];
      clear(body);
      data.scenarios.forEach(function (s, i) {
        var tr = el("tr");
        tr.dataset.id = s.id;
        ["a", "b"].forEach(function (slot, k) {
          var cell = td(""), input = el("input");
          input.type = "radio"; input.name = slot; input.value = s.id;
          input.setAttribute("aria-label", slot.toUpperCase() + ": " + s.name);
          if (i === 1 - k) input.checked = true;  // newest as B, the one before as A
          cell.appendChild(input);
          tr.appendChild(cell);
        });
        tr.appendChild(td(s.name, "rp-scenario-name"));
        var p = s.params_text;
        var what = [p.facility, p.model, s.params.p !== null && s.params.p !== undefined ? "p=" + s.params.p : (s.params.budget_wan ? p.budget_wan : ""),
          s.params.minutes ? t(msg.minutes, { m: s.params.minutes }) : "", p.demand, p.candidates].filter(Boolean).join(" · ");
        tr.appendChild(td(what));
        tr.appendChild(td(s.summary.new_sites.join("、")));
        tr.appendChild(td(num(s.summary.covered_after) + " / " + num(s.summary.demand), "num"));
        tr.appendChild(td((s.username || "–") + " · " + (s.created_local || String(s.created_at).replace("T", " ").slice(0, 16))));
        var actions = td("", "rp-actions");
        var show = el("button", "rp-small rp-secondary", msg.show);
        show.type = "button";
        show.addEventListener("click", function () { showScenario(s.id); });
        actions.appendChild(show);
        actions.appendChild(actionLink("GeoJSON", cfg.scenario_url.replace("/0.json", "/" + s.id + ".geojson"), true));
        actions.appendChild(actionLink("Excel", cfg.scenario_url.replace("/0.json", "/" + s.id + ".xlsx"), true));
        if (s.may_delete) {
          var del = el("button", "rp-small rp-danger", msg["delete"]);
          del.type = "button";
          del.addEventListener("click", function () {
            // two clicks instead of a confirm() dialog
            if (!del.dataset.armed) { del.dataset.armed = "1"; del.textContent = msg.confirm_delete; return; }
            getJSON(cfg.delete_url.replace("/0/", "/" + s.id + "/"), { method: "POST", headers: { "X-CSRFToken": csrf() } })
              .then(loadScenarios).catch(function (err) { $("rp-compare-status").textContent = err.message; });
          });
          actions.appendChild(del);
        }
        tr.appendChild(actions);
        body.appendChild(tr);
      });
      $("rp-no-scenarios").hidden = data.scenarios.length > 0;
      $("rp-compare").disabled = data.scenarios.length < 2;
      RPPlan.scenarios = data.scenarios.length;
    });
  }

  function showScenario(id) {
    getJSON(cfg.scenario_url.replace("/0.json", "/" + id + ".json")).then(function (data) {
      var params = new URLSearchParams();
      var p = data.params;
      var q = { facility: p.facility, model: p.model, limit: p.limit, p: p.p, budget: p.budget_wan, site_cost: p.site_cost_wan,
        minutes: p.minutes, demand: p.demand, candidates: p.candidates, keep_existing: p.keep_existing ? 1 : 0,
        time_limit: p.time_limit_s, new_capacity_t: p.new_capacity_t, split: p.split_demand ? 1 : 0,
        points: (p.points || []).map(function (x) { return x.join(","); }).join(";") };
      Object.keys(q).forEach(function (k) { if (q[k] !== null && q[k] !== undefined && q[k] !== "") params.set(k, q[k]); });
      restoreForm(params);
      syncForm();
      showPayload(data.payload, params.toString());
      setStatus(data.name);
      $("rp-plan-result").scrollIntoView({ behavior: "auto" });
    }).catch(function (err) { setStatus(err.message, true); });
  }

  function compareCheck(event) {
    var a = $("rp-compare-form").querySelector("input[name=a]:checked");
    var b = $("rp-compare-form").querySelector("input[name=b]:checked");
    if (!a || !b || a.value === b.value) {
      event.preventDefault();
      $("rp-compare-status").textContent = msg.pick_two;
    }
  }

  // ------------------------------------------------------------------ start
  RPPlan.start = function (leafletMap, layerControl, config) {
    cfg = config; map = leafletMap; control = layerControl; msg = config.i18n;
    RPPlan.map = map;
    RPPlan.groups = groups;
    form = $("rp-plan-form");
    if (cfg.bounds) map.fitBounds(cfg.bounds);
    addGroup("boundaries", true);
    addGroup("roads", true);
    addGroup("villages", true);
    addGroup("facilities", true);
    addGroup("areas", true);
    addGroup("allocations", true);
    addGroup("sites", true);
    addGroup("drawn", true);
    loadContext();
    map.on("click", function (e) {
      if ($("rp-candidates").value !== "drawn") return;
      addPoint(e.latlng.lat, e.latlng.lng);
      syncForm();
    });
    form.addEventListener("change", syncForm);
    form.addEventListener("input", syncForm);
    form.addEventListener("submit", run);
    $("rp-clear-points").addEventListener("click", function () { groups.drawn.clearLayers(); drawn = []; syncForm(); });
    if ($("rp-save-form")) $("rp-save-form").addEventListener("submit", saveScenario);
    $("rp-compare-form").addEventListener("submit", compareCheck);
    var params = new URLSearchParams(location.search);
    if (params.has("model")) restoreForm(params);
    syncForm();
    loadScenarios().catch(function () {}).then(function () {
      RPPlan.ready = true;
      if (params.has("model")) run();
    });
  };
})();
