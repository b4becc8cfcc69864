/* ruralplan map explorer, road resilience (loaded after rpnetwork.js):
 *  - the "Network scenario" select (filled from /api/v1/network/scenarios) applies to the
 *    accessibility and coverage views and to this one;
 *  - the resilience view draws the road links whose loss cuts villages off (width by
 *    people cut off) and rings the single-access villages, and lists the top links and
 *    detour roads; clicking a list entry zooms to it.
 * Every text comes from the server's translated config and is set with textContent. */
(function () {
  "use strict";

  var RP = window.RP;
  var res = (RP.res = { links: null, villages: null, detours: null, data: null });
  var rcfg = {};
  var U = null;

  function rt(key, values) {
    var s = (rcfg.i18n && rcfg.i18n[key]) || key;
    Object.keys(values || {}).forEach(function (k) { s = s.split("{" + k + "}").join(values[k]); });
    return s;
  }
  function $(id) { return document.getElementById(id); }
  function num(v, d) { return v === null || v === undefined ? "–" : U.fmtNumber(v, d); }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error((body.error && body.error.message) || "HTTP " + r.status);
        return body;
      });
    });
  }

  function scenario() { return ($("rp-net-scenario") || {}).value || ""; }
  RP.scenario = scenario;  // read by rpnetwork.js for accessibility and coverage

  function fillScenarios() {
    var sel = $("rp-net-scenario");
    if (!sel) return Promise.resolve();
    return getJSON(rcfg.urls.scenarios).then(function (data) {
      data.scenarios.forEach(function (s) {
        var opt = document.createElement("option");
        opt.value = s.name;
        opt.textContent = s.name + (s.text ? " — " + s.text : "");
        sel.appendChild(opt);
      });
    }).catch(function () { /* the base network stays available */ });
  }

  function clearLayers() {
    ["links", "villages", "detours"].forEach(function (k) {
      if (res[k]) RP.map.removeLayer(res[k]);
      res[k] = null;
    });
  }

  function popupTable(title, name, rows) {
    var root = U.el("div", "rp-popup");
    root.appendChild(U.el("div", "rp-popup-layer", title));
    root.appendChild(U.el("h4", null, name));
    var table = U.el("table");
    rows.forEach(function (r) {
      var tr = U.el("tr");
      tr.appendChild(U.el("th", null, r[0]));
      tr.appendChild(U.el("td", null, r[1]));
      table.appendChild(tr);
    });
    root.appendChild(table);
    return root;
  }

  function roadName(p, i) { return (p.road_names && p.road_names[i]) || p.road_ids[i]; }
  function linkName(p) {
    var seen = {};
    return p.road_ids.map(function (_, i) { return roadName(p, i); })
      .filter(function (n) { if (seen[n]) return false; seen[n] = true; return true; }).join(", ");
  }

  function linkPopup(p) {
    return popupTable(rt("links_title"), "#" + p.rank + " " + linkName(p) + " (" + rt("length_km", { n: num(p.length_m / 1000, 1) }) + ")", [
      [rt("villages_cut"), (p.village_names || []).join("、")],
      [rt("people"), num(p.population_cut)],
      [rt("monitored"), num(p.monitored_households_cut) + " (" + rt("unstable") + " " + num(p.monitored_unstable_cut) +
        ", " + rt("marginal") + " " + num(p.monitored_marginal_cut) + ", " + rt("sudden") + " " + num(p.monitored_sudden_cut) + ")"],
      [rt("tonnage"), num(p.produce_t_cut, 0)],
    ]);
  }

  function villagePopup(p) {
    return popupTable(rt("single_access"), p.name || p.village_id, [
      [rt("access_road"), p.access_road_name || p.access_road_id || ""],
      [rt("bridges"), num(p.bridges)],
      [rt("people"), num(p.population)],
      [rt("monitored"), num(p.monitored_households)],
      [rt("tonnage"), num(p.produce_t, 0)],
      [rt("minutes"), U.fmtMinutes(p.minutes)],
    ]);
  }

  function draw(data) {
    clearLayers();
    var maxPeople = Math.max.apply(null, [1].concat(data.links.map(function (l) { return l.population_cut; })));
    res.detours = L.geoJSON(data.detours_geojson, {
      style: function () { return { color: rcfg.detour_color, weight: 4, opacity: 0.8, dashArray: "6 4" }; },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(function () {
          return popupTable(rt("detours_title"), "#" + p.rank + " " + (p.road_name || p.road_id), [
            ["", rt("detour_line", { villages: p.villages_delayed, minutes: U.fmtMinutes(p.added_min_max), person_min: num(p.person_min, 0) })],
          ]);
        });
      },
    }).addTo(RP.map);
    res.links = L.geoJSON(data.links_geojson, {
      style: function (f) {
        return { color: rcfg.link_color, weight: 3 + 7 * Math.sqrt(f.properties.population_cut / maxPeople), opacity: 0.9 };
      },
      onEachFeature: function (f, layer) { layer.bindPopup(function () { return linkPopup(f.properties); }, { maxWidth: 340 }); },
    }).addTo(RP.map);
    res.villages = L.geoJSON(data.villages_geojson, {
      filter: function (f) { return !!f.geometry; },
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: 8, color: rcfg.village_color, weight: 3, fill: false });
      },
      onEachFeature: function (f, layer) { layer.bindPopup(function () { return villagePopup(f.properties); }, { maxWidth: 320 }); },
    }).addTo(RP.map);
  }

  function zoomTo(collection, i) {
    var f = collection.features[i];
    if (!f || !f.geometry) return;
    var layer = L.geoJSON(f);
    RP.map.fitBounds(layer.getBounds(), { maxZoom: 14, padding: [40, 40] });
  }

  function list(out, title, items, text, collection) {
    if (!items.length) return;
    out.appendChild(U.el("h3", null, title));
    var ol = U.el("ol", "rp-res-list");
    items.slice(0, 10).forEach(function (item, i) {
      var li = U.el("li");
      var a = U.el("a", null, text[0](item));
      a.href = "#";
      a.addEventListener("click", function (e) { e.preventDefault(); zoomTo(collection, i); });
      li.appendChild(a);
      li.appendChild(U.el("div", "rp-hint", text[1](item)));
      ol.appendChild(li);
    });
    out.appendChild(ol);
  }

  function update() {
    var out = $("rp-res-result");
    if (!$("rp-res-toggle").checked) { clearLayers(); out.textContent = ""; return Promise.resolve(); }
    out.textContent = "";
    out.appendChild(U.el("p", "rp-hint", rt("computing")));
    var q = new URLSearchParams({ top: "20" });
    if (scenario()) q.append("scenario", scenario());
    return getJSON(rcfg.urls.resilience + "?" + q.toString()).then(function (data) {
      res.data = data;
      out.textContent = "";
      var t = data.totals;
      out.appendChild(U.el("p", "rp-cov-summary", rt("summary", {
        n: t.villages_single_access, total: t.villages_on_network, people: num(t.population_single_access),
        monitored: num(t.monitored_households_single_access), tonnes: num(t.produce_t_single_access, 0),
      })));
      if (!data.links.length) out.appendChild(U.el("p", "rp-hint", rt("none")));
      list(out, rt("links_title"), data.links, [
        function (l) { return "#" + l.rank + " " + linkName(l) + " (" + rt("length_km", { n: num(l.length_m / 1000, 1) }) + ")"; },
        function (l) { return rt("link_line", { villages: l.villages_cut, people: num(l.population_cut), monitored: num(l.monitored_households_cut), tonnes: num(l.produce_t_cut, 0) }); },
      ], data.links_geojson);
      list(out, rt("detours_title"), data.detours, [
        function (d) { return "#" + d.rank + " " + (d.road_name || d.road_id); },
        function (d) { return rt("detour_line", { villages: d.villages_delayed, minutes: U.fmtMinutes(d.added_min_max), person_min: num(d.person_min, 0) }); },
      ], data.detours_geojson);
      draw(data);
      document.documentElement.setAttribute("data-resilience-ready", String(data.links.length));
    }).catch(function (err) {
      out.textContent = "";
      out.appendChild(U.el("p", "rp-error", rt("failed", { message: err.message })));
    });
  }
  RP.scenarioDiffText = function (diff) {
    return rt("scenario_diff", {
      covered_base: diff.base.villages_covered, covered: diff.scenario_totals.villages_covered, lost: diff.lost.length,
      slower: diff.villages_slower, minutes: num(diff.added_minutes_total, 0),
    });
  };

  RP.startHooks.push(function (map, cfg) {
    rcfg = cfg.resilience || {};
    U = RP.util;
    if (!rcfg.urls || !$("rp-res")) return;
    fillScenarios();
    $("rp-res-toggle").addEventListener("change", update);
    var sel = $("rp-net-scenario");
    if (sel) sel.addEventListener("change", function () {
      if ($("rp-res-toggle").checked) update();
      if (RP.net && RP.net.refresh) RP.net.refresh();
    });
  });
})();
