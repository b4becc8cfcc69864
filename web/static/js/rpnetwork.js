/* ruralplan map explorer, road-network tools (loaded after rpmap.js):
 *  - a facility's popup offers its 15/30/60-min service areas, drawn nested and
 *    semi-transparent with a legend box on the map that also clears them;
 *  - the accessibility view recolours villages by minutes to the nearest facility;
 *  - the coverage panel shows totals and the per-town table and rings the villages
 *    that are not covered (too far / unreachable, with the reason in the popup).
 * Data come from /api/v1/network/...; every text is set with textContent. */
(function () {
  "use strict";

  var RP = window.RP;
  var net = (RP.net = { areas: null, access: null, uncovered: null, coverage: null });
  var ncfg = {};
  var U = null;

  function nt(key, values) {
    var s = (ncfg.i18n && ncfg.i18n[key]) || key;
    Object.keys(values || {}).forEach(function (k) { s = s.split("{" + k + "}").join(values[k]); });
    return s;
  }

  function $(id) { return document.getElementById(id); }

  function num(v, decimals) { return v === null || v === undefined ? "–" : U.fmtNumber(v, decimals); }

  function query(url, params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      [].concat(params[k]).forEach(function (v) { if (v !== undefined && v !== null && v !== "") q.append(k, v); });
    });
    return url + "?" + q.toString();
  }

  /* JSON or an Error carrying the API's message (expected errors are shown, not logged). */
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error((body.error && body.error.message) || "HTTP " + r.status);
        return body;
      });
    });
  }

  function facilityLayer() { return ($("rp-net-facility") || {}).value || "cold_storage"; }
  function statuses() { return ($("rp-net-existing") || {}).checked ? ["existing"] : []; }
  function scenario() { return RP.scenario ? RP.scenario() : ""; }  // rpresilience.js: the network scenario
  function layerLabel(name) {
    var sel = $("rp-net-facility");
    var opt = sel && Array.prototype.find.call(sel.options, function (o) { return o.value === name; });
    return opt ? opt.textContent : name;
  }
  function reasonText(code) { return (ncfg.reasons && ncfg.reasons[code]) || code || ""; }

  // Results computed without roads say so, and points off the road network are named.
  function appendNetworkNotes(parent, data) {
    if (data.estimate) {
      parent.appendChild(U.el("p", "rp-hint rp-estimate", nt("estimate", {
        factor: String(data.estimate.detour_factor), speed: String(data.estimate.speed_kmh) })));
    }
    var off = data.off_network || [];
    if (off.length) {
      var box = U.el("div", "rp-off-network");
      box.appendChild(U.el("div", "rp-hint", nt("off_network", { n: off.length })));
      off.forEach(function (r) {
        box.appendChild(U.el("div", "rp-hint", (r.name || r.id) + " (" + r.id + "): " + reasonText(r.reason)));
      });
      parent.appendChild(box);
    }
  }

  function swatch(color, cls) {
    var sw = U.el("span", "rp-sym " + (cls || "rp-sym-area"));
    sw.style.setProperty("--c", color);
    return sw;
  }

  function legendRow(parent, sw, text) {
    var row = U.el("div", "rp-scale-row");
    row.appendChild(sw);
    row.appendChild(U.el("span", null, text));
    parent.appendChild(row);
    return row;
  }

  // --------------------------------------------------------------- service areas
  var AreasBox = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "leaflet-bar rp-areas-box");
      box.id = "rp-areas-box";
      var close = L.DomUtil.create("button", "rp-areas-close", box);
      close.type = "button";
      close.id = "rp-areas-clear";
      close.title = nt("clear_areas");
      close.setAttribute("aria-label", nt("clear_areas"));
      close.textContent = "×";
      L.DomEvent.on(close, "click", function (e) { L.DomEvent.stop(e); clearAreas(); });
      this.title = U.el("div", "rp-net-title");
      this.rows = U.el("div");
      box.appendChild(this.title);
      box.appendChild(this.rows);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    },
  });

  function areaColor(cutoff) {
    var i = ncfg.area_cutoffs.indexOf(cutoff);
    if (i < 0) i = ncfg.area_colors.length - 1;
    return ncfg.area_colors[Math.min(i, ncfg.area_colors.length - 1)];
  }

  function clearAreas() {
    if (net.areas) RP.map.removeLayer(net.areas);
    net.areas = null;
    if (net.box) { RP.map.removeControl(net.box); net.box = null; }
  }

  function showAreas(layer, id, name) {
    clearAreas();
    net.box = new AreasBox().addTo(RP.map);
    var box = net.box;
    box.title.textContent = nt("areas_of", { name: name });
    box.rows.appendChild(U.el("div", "rp-hint", nt("computing")));
    var url = query(ncfg.urls.service_areas, { facility: layer, id: id, minutes: ncfg.area_cutoffs.join(","),
                                               scenario: scenario() });
    return getJSON(url).then(function (data) {
      if (net.box !== box) return;  // cleared or replaced meanwhile
      box.rows.textContent = "";
      net.areas = L.geoJSON(data, {
        interactive: false,
        filter: function (f) { return !!f.geometry; },
        style: function (f) {
          var c = areaColor(f.properties.cutoff_min);
          return { color: c, weight: 1.2, opacity: 0.9, fillColor: c, fillOpacity: 0.25 };
        },
      }).addTo(RP.map);
      net.areas.bringToBack();
      var boundaries = RP.byName.boundaries;
      if (boundaries && RP.map.hasLayer(boundaries.group)) boundaries.group.bringToBack();
      var reason = "";
      data.features.slice().reverse().forEach(function (f) {  // nearest cutoff first
        var p = f.properties;
        if (p.reason) reason = p.reason;
        legendRow(box.rows, swatch(areaColor(p.cutoff_min)),
          nt("within_min", { n: num(p.cutoff_min) }) + " · " + num(p.area_km2, 1) + " " + nt("km2"));
      });
      if (reason) box.rows.appendChild(U.el("div", "rp-hint", reasonText(reason)));
      appendNetworkNotes(box.rows, data);
      document.documentElement.setAttribute("data-areas-ready", String(data.features.length));
    }).catch(function (err) {
      if (net.box !== box) return;
      box.rows.textContent = "";
      box.rows.appendChild(U.el("div", "rp-error", nt("failed", { message: err.message })));
    });
  }

  function areasButton(spec, props, root) {
    if (ncfg.facility_layers.indexOf(spec.name) < 0) return;
    var id = props[spec.id_field];
    if (id === undefined || id === null) return;
    var button = U.el("button", "rp-net-areas-btn", nt("show_areas"));
    button.type = "button";
    button.addEventListener("click", function () {
      RP.map.closePopup();
      showAreas(spec.name, String(id), props.name || String(id));
    });
    root.appendChild(button);
  }

  // --------------------------------------------------------------- accessibility
  function accessClass(minutes) {
    var b = ncfg.access_breaks;
    for (var i = 0; i < b.length; i++) if (minutes <= b[i]) return i;
    return b.length;
  }

  function accessStyle(p) {
    if (p.minutes === null || p.minutes === undefined) {
      return { fillColor: ncfg.unreachable.fill, color: ncfg.unreachable.stroke, weight: 2, fillOpacity: 0.9 };
    }
    return { fillColor: ncfg.access_colors[accessClass(p.minutes)], color: "#333", weight: 1, fillOpacity: 0.95 };
  }

  function villageItems() { return (RP.byName.villages && RP.byName.villages.items) || []; }

  function restoreVillages() {
    villageItems().forEach(function (it) {
      if (it.rpStyle) { it.layer.setStyle(it.rpStyle); delete it.rpStyle; }
    });
  }

  function drawAccessLegend() {
    var legend = $("rp-access-legend");
    legend.textContent = "";
    var b = ncfg.access_breaks;
    b.forEach(function (n, i) { legendRow(legend, swatch(ncfg.access_colors[i], "rp-sym-circle"), nt("min_or_less", { n: n })); });
    legendRow(legend, swatch(ncfg.access_colors[b.length], "rp-sym-circle"), nt("more_than", { n: b[b.length - 1] }));
    var sw = swatch(ncfg.unreachable.fill, "rp-sym-circle-outline");
    sw.style.borderColor = ncfg.unreachable.stroke;
    legendRow(legend, sw, nt("unreachable"));
    legend.hidden = false;
  }

  function updateAccess() {
    var on = $("rp-access-toggle").checked;
    var msg = $("rp-access-message");
    restoreVillages();
    net.access = null;
    msg.textContent = "";
    if (!on) { $("rp-access-legend").hidden = true; return Promise.resolve(); }
    msg.textContent = nt("computing");
    var layer = facilityLayer();
    var url = query(ncfg.urls.accessibility, { facility: layer, status: statuses(), scenario: scenario() });
    return Promise.all([getJSON(url), RP.byName.villages ? loadVillages() : null]).then(function (res) {
      var data = res[0];
      if (!$("rp-access-toggle").checked || facilityLayer() !== layer) return;
      var byCode = {};
      data.features.forEach(function (f) { byCode[f.properties.village_id] = f.properties; });
      net.access = { layer: layer, byCode: byCode };
      villageItems().forEach(function (it) {
        var p = byCode[String(it.props.code)];
        if (!p) return;
        var o = it.layer.options;
        it.rpStyle = { fillColor: o.fillColor, color: o.color, weight: o.weight, fillOpacity: o.fillOpacity };
        it.layer.setStyle(accessStyle(p));
      });
      drawAccessLegend();
      msg.textContent = data.facilities ? "" : nt("no_facilities");
      document.documentElement.setAttribute("data-access-ready", layer);
    }).catch(function (err) { msg.textContent = nt("failed", { message: err.message }); });
  }

  function loadVillages() {
    // The villages layer may be switched off (and so not loaded yet): switching it on loads it.
    var entry = RP.byName.villages;
    if (entry.items.length || entry.spec.count === 0) return Promise.resolve();
    return new Promise(function (resolve) {
      var poll = setInterval(function () { if (entry.items.length) { clearInterval(poll); resolve(); } }, 100);
      RP.map.addLayer(entry.group);
    });
  }

  function accessPopup(spec, props, root) {
    if (spec.name !== "villages" || !net.access) return;
    var p = net.access.byCode[String(props.code)];
    if (!p) return;
    var line = U.el("div", "rp-net-popup");
    line.appendChild(U.el("strong", null, nt("nearest") + " " + layerLabel(net.access.layer) + ": "));
    var text = p.minutes === null || p.minutes === undefined
      ? nt("unreachable") + " (" + reasonText(p.reason) + ")"
      : (p.facility_name || p.facility_id || "") + " · " + nt("travel_min", { n: U.fmtMinutes(p.minutes) });
    line.appendChild(U.el("span", null, text));
    root.appendChild(line);
  }

  // --------------------------------------------------------------- coverage
  /* "covered" over "/ total" in one narrow cell (the sidebar is ~290 px wide). */
  function pairCell(covered, total, decimals) {
    var td = U.el("td");
    td.appendChild(U.el("div", null, num(covered, decimals)));
    td.appendChild(U.el("div", "rp-cov-of", "/ " + num(total, decimals)));
    return td;
  }

  function produceSums(rec, commodities) {
    var c = 0, t = 0;
    commodities.forEach(function (name) {
      t += rec["produce_" + name + "_t"] || 0;
      c += rec["produce_" + name + "_t_covered"] || 0;
    });
    return [c, t];
  }

  function coverageTable(data) {
    var table = U.el("table", "rp-cov-table");
    var head = U.el("tr");
    ["town", "villages", "people", "monitored", "tonnage"].forEach(function (k) { head.appendChild(U.el("th", null, nt(k))); });
    var thead = U.el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var body = U.el("tbody");
    function row(name, rec, cls) {
      var tr = U.el("tr", cls);
      var produce = produceSums(rec, data.commodities);
      tr.appendChild(U.el("th", null, name));
      tr.appendChild(pairCell(rec.villages_covered, rec.villages));
      tr.appendChild(pairCell(rec.population_covered, rec.population, 0));
      tr.appendChild(pairCell(rec.monitored_households_covered, rec.monitored_households, 0));
      tr.appendChild(pairCell(produce[0], produce[1], 0));
      body.appendChild(tr);
    }
    data.by_town.forEach(function (rec) { row(rec.town, rec); });
    row(nt("total"), data.totals, "rp-cov-total");
    table.appendChild(body);
    return table;
  }

  function uncoveredPopup(p) {
    var root = U.el("div", "rp-popup");
    root.appendChild(U.el("div", "rp-popup-layer", nt("uncovered")));
    root.appendChild(U.el("h4", null, p.name || p.village_id));
    var table = U.el("table");
    function tr(label, value) {
      var r = U.el("tr");
      r.appendChild(U.el("th", null, label));
      r.appendChild(U.el("td", null, value));
      table.appendChild(r);
    }
    tr(nt("town"), p.town || "");
    if (p.status === "too_far") {
      // minutes_text: over the cutoff even when 0.01 would round it onto it (30.004)
      tr(nt("too_far"), nt("travel_min", { n: p.minutes_text || U.fmtMinutes(p.minutes) }));
      if (p.facility_name) tr(nt("nearest"), p.facility_name);
    } else {
      tr(nt("unreachable"), reasonText(p.reason));
    }
    root.appendChild(table);
    return root;
  }

  function drawUncovered(data) {
    if (net.uncovered) RP.map.removeLayer(net.uncovered);
    net.uncovered = L.geoJSON(data.uncovered_geojson, {
      filter: function (f) { return !!f.geometry; },
      pointToLayer: function (f, latlng) {
        var far = f.properties.status === "too_far";
        return L.circleMarker(latlng, far
          ? { radius: 9, color: ncfg.too_far, weight: 3, fill: false }
          : { radius: 9, color: ncfg.unreachable.stroke, weight: 2.5, dashArray: "3 3", fillColor: ncfg.unreachable.fill, fillOpacity: 0.5 });
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () { return uncoveredPopup(f.properties); }, { maxWidth: 320 });
      },
    }).addTo(RP.map);
  }

  function runCoverage(e) {
    if (e) e.preventDefault();
    var out = $("rp-cov-result");
    var layer = facilityLayer();
    var minutes = $("rp-cov-minutes").value;
    var commodities = Array.prototype.filter.call($("rp-cov-commodity").options, function (o) { return o.selected; })
      .map(function (o) { return o.value; });
    out.textContent = "";
    out.appendChild(U.el("p", "rp-hint", nt("computing")));
    var url = query(ncfg.urls.coverage, { facility: layer, minutes: minutes, commodity: commodities, status: statuses(),
                                          scenario: scenario() });
    return getJSON(url).then(function (data) {
      net.coverage = data;
      out.textContent = "";
      var t = data.totals;
      out.appendChild(U.el("p", "rp-cov-summary", nt("covered_summary", {
        covered: t.villages_covered, total: t.villages, minutes: num(data.cutoff_min), layer: layerLabel(layer),
        too_far: t.villages_too_far, unreachable: t.villages_unreachable,
      })));
      if (!t.facilities) out.appendChild(U.el("p", "rp-hint", nt("no_facilities")));
      if (data.scenario_difference && RP.scenarioDiffText) {
        out.appendChild(U.el("p", "rp-cov-summary rp-scenario-diff", RP.scenarioDiffText(data.scenario_difference)));
      }
      appendNetworkNotes(out, data);
      out.appendChild(U.el("p", "rp-hint", nt("table_note")));
      var wrap = U.el("div", "rp-cov-wrap");
      wrap.appendChild(coverageTable(data));
      out.appendChild(wrap);
      var legend = U.el("div", "rp-legend-scale");
      var far = swatch(ncfg.too_far, "rp-sym-ring");
      legendRow(legend, far, nt("too_far") + " (" + t.villages_too_far + ")");
      var un = swatch(ncfg.unreachable.fill, "rp-sym-circle-outline");
      un.style.borderColor = ncfg.unreachable.stroke;
      un.style.borderStyle = "dashed";
      legendRow(legend, un, nt("unreachable") + " (" + t.villages_unreachable + ")");
      out.appendChild(legend);
      drawUncovered(data);
      $("rp-cov-clear").hidden = false;
      document.documentElement.setAttribute("data-coverage-ready", String(data.uncovered.length));
    }).catch(function (err) {
      out.textContent = "";
      out.appendChild(U.el("p", "rp-error", nt("failed", { message: err.message })));
    });
  }

  function clearCoverage() {
    if (net.uncovered) RP.map.removeLayer(net.uncovered);
    net.uncovered = null;
    net.coverage = null;
    $("rp-cov-result").textContent = "";
    $("rp-cov-clear").hidden = true;
  }

  // --------------------------------------------------------------- wiring
  RP.popupExtras.push(function (spec, props, root) {
    if (!net.enabled) return;  // pages without the sidebar section keep plain popups
    areasButton(spec, props, root);
    accessPopup(spec, props, root);
  });

  RP.startHooks.push(function (map, cfg) {
    ncfg = cfg.network || {};
    U = RP.util;
    if (!ncfg.urls || !$("rp-net")) return;
    net.enabled = true;
    $("rp-access-toggle").addEventListener("change", updateAccess);
    $("rp-cov-form").addEventListener("submit", runCoverage);
    $("rp-cov-clear").addEventListener("click", clearCoverage);
    function refresh() {
      if ($("rp-access-toggle").checked) updateAccess();
      if (net.coverage) runCoverage();
    }
    net.refresh = refresh;
    $("rp-net-facility").addEventListener("change", refresh);
    $("rp-net-existing").addEventListener("change", refresh);
  });
})();
