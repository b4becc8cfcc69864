/* Project-library maps: proposals, evaluation layers, and placing a site on the form.
 * Data and settings come from <script type="application/json"> blocks; text is set with
 * textContent only (names come from users). */
(function () {
  "use strict";
  // fallbacks only: the page's config carries the palette (web/printmaps.py), shared with the printed map
  var STATUS_COLORS = {};
  var ROLE_STYLE = {};
  var CFG = null;

  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function styleFor(props, cfg) {
    var colors = (cfg && cfg.status_colors) || STATUS_COLORS;
    if (props.role === "proposal") {
      var c = colors[props.status] || "#333";
      // a dark outline keeps light colours (a draft's ochre) visible on any basemap
      return {color: "#222", fillColor: c, radius: (cfg && cfg.proposal_radius) || 8, weight: 2, fillOpacity: 0.9};
    }
    var s = ((cfg && cfg.role_styles) || ROLE_STYLE)[props.role] || {color: "#333", radius: 5, weight: 1, fillOpacity: 0.5};
    return {color: s.color, fillColor: s.fillColor || s.color, radius: s.radius, weight: s.weight,
            fillOpacity: s.fillOpacity, dashArray: s.dashArray || null};
  }

  function popupFor(props, t) {
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = props.name || t[props.role] || props.id || "";
    box.appendChild(title);
    var lines = [];
    if (props.role && t[props.role] && props.role !== "proposal") lines.push(t[props.role]);
    if (props.status_label) lines.push(props.status_label + " · " + (props.category_label || ""));
    if (props.budget_wan !== undefined) lines.push(props.budget_wan + " 万元");
    if (props.minutes !== undefined && props.minutes !== null) lines.push(props.minutes + " " + t.minutes);
    if (props.kind && props.role === "conflict") lines.push(props.kind + (props.relation ? " · " + props.relation : ""));
    if (props.gain !== undefined) lines.push(t.gain + ": " + Math.round(props.gain));
    if (props.distance_km !== undefined) lines.push(props.distance_km + " " + t.distance);
    if (props.near_village) lines.push(t.near_village + ": " + props.near_village +
      (props.near_village_town ? " (" + props.near_village_town + ")" : "") + " " + props.near_village_km + " " + t.km);
    if (props.near_road) lines.push(t.near_road + ": " + props.near_road);
    lines.forEach(function (text) {
      var p = document.createElement("div");
      p.textContent = text;
      box.appendChild(p);
    });
    if (props.url) {
      var a = document.createElement("a");
      a.href = props.url;
      a.textContent = t.open;
      box.appendChild(a);
    }
    return box;
  }

  function show(map, data, t) {
    var layer = L.geoJSON(data, {
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, styleFor(f.properties, CFG)); },
      style: function (f) { return styleFor(f.properties, CFG); }
    });
    layer.eachLayer(function (l) { l.bindPopup(popupFor(l.feature.properties, t)); });
    layer.addTo(map);
    return layer;
  }

  // ------------------------------------------------------------------ WKT for the form
  function parseWKT(text) {
    var m = /^\s*(POINT|LINESTRING|POLYGON)\s*\(+([^()]*)\)+\s*$/i.exec(text || "");
    if (!m) return null;
    var pts = m[2].split(",").map(function (pair) {
      var xy = pair.trim().split(/\s+/).map(Number);
      return [xy[1], xy[0]];
    }).filter(function (p) { return isFinite(p[0]) && isFinite(p[1]); });
    return pts.length ? {kind: m[1].toLowerCase(), pts: pts} : null;
  }

  function toWKT(kind, pts) {
    var s = pts.map(function (p) { return p[1].toFixed(6) + " " + p[0].toFixed(6); });
    if (kind === "point" || pts.length === 1) return "POINT (" + s[0] + ")";
    if (kind === "polygon" && pts.length >= 3) return "POLYGON ((" + s.concat([s[0]]).join(", ") + "))";
    return "LINESTRING (" + s.join(", ") + ")";
  }

  function picker(map, t) {
    var box = document.getElementById("geometry");
    var mode = document.getElementById("rpp-geom-mode");
    var clear = document.getElementById("rpp-geom-clear");
    if (!box || !mode) return;
    var shape = null;
    var pts = [];
    function draw(fit) {
      if (shape) { map.removeLayer(shape); shape = null; }
      if (!pts.length) return;
      var style = {color: "#c0392b", weight: 3, fillOpacity: 0.3};
      if (mode.value === "point" || pts.length === 1) shape = L.circleMarker(pts[0], Object.assign({radius: 8}, style));
      else if (mode.value === "polygon" && pts.length >= 3) shape = L.polygon(pts, style);
      else shape = L.polyline(pts, style);
      shape.addTo(map);
      if (fit) map.setView(pts[0], Math.max(map.getZoom(), 12));
    }
    function load(fit) {
      var g = parseWKT(box.value);
      pts = g ? (g.kind === "polygon" ? g.pts.slice(0, -1) : g.pts) : [];
      if (g) mode.value = g.kind;
      draw(fit);
    }
    var village = document.getElementById("village_code");
    var useVillage = document.getElementById("rpp-use-village");
    var siteText = document.getElementById("rpp-site-text");
    function changed() {
      if (siteText) {
        var g = parseWKT(box.value);
        siteText.textContent = g ? g.pts[0][1].toFixed(5) + ", " + g.pts[0][0].toFixed(5) : "";
      }
      checkSite();
    }
    function villageCentre(fit) {
      var opt = village && village.options[village.selectedIndex];
      if (!opt || !opt.dataset.lon || opt.dataset.lon === "None") return;
      mode.value = "point";
      pts = [[Number(opt.dataset.lat), Number(opt.dataset.lon)]];
      box.value = toWKT("point", pts);
      draw(fit);
      changed();
    }
    map.on("click", function (e) {
      var p = [e.latlng.lat, e.latlng.lng];
      pts = mode.value === "point" ? [p] : pts.concat([p]);
      box.value = toWKT(mode.value, pts);
      draw(false);
      changed();
    });
    box.addEventListener("change", function () { load(true); changed(); });
    mode.addEventListener("change", function () {
      if (pts.length) { box.value = toWKT(mode.value, mode.value === "point" ? pts.slice(0, 1) : pts); load(false); changed(); }
    });
    if (clear) clear.addEventListener("click", function () { pts = []; box.value = ""; draw(false); changed(); });
    if (useVillage) useVillage.addEventListener("click", function () { villageCentre(true); });
    if (village) village.addEventListener("change", function () {
      if (!box.value.trim()) villageCentre(true); else checkSite();
    });
    ["level", "town"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) el.addEventListener("change", checkSite);
    });
    load(true);
    if (!box.value.trim()) villageCentre(false);
  }

  // The outside-town flag while drawing (a warning, never a block). Answers can come back
  // out of order (a slow server): only the answer to the latest question is shown.
  var siteCheckSeq = 0;
  function checkSite() {
    var form = document.getElementById("proposal-form");
    var out = document.getElementById("site-check");
    var box = document.getElementById("geometry");
    if (!form || !out || !box || !form.dataset.siteCheck || !window.fetch) return;
    var params = new URLSearchParams();
    ["level", "town", "village_code"].forEach(function (id) {
      var el = document.getElementById(id);
      if (el) params.set(id, el.value);
    });
    params.set("geometry", box.value);
    var mine = ++siteCheckSeq;
    fetch(form.dataset.siteCheck + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {warning: null}; })
      .then(function (data) {
        if (mine !== siteCheckSeq) return;  // a newer site was asked about meanwhile
        var stale = document.getElementById("site-outside-town");
        if (stale) stale.hidden = true;
        out.textContent = data.warning ? "⚠ " + data.warning : "";
        out.hidden = !data.warning;
      })
      .catch(function () { /* the server checks again on save */ });
  }

  function init() {
    var cfg = readJSON("rpp-config");
    if (!cfg) return;
    CFG = cfg;
    var map = window[cfg.map];
    var data = readJSON("rpp-data") || {type: "FeatureCollection", features: []};
    var t = cfg.i18n || {};
    var layer = show(map, data, t);
    if (cfg.mode === "edit") {
      if (cfg.bounds) map.fitBounds(cfg.bounds);
      picker(map, t);
    } else if (data.features.length && layer.getBounds().isValid()) {
      map.fitBounds(layer.getBounds(), {padding: [30, 30], maxZoom: 13});
    } else if (cfg.bounds) {
      map.fitBounds(cfg.bounds);
    }
    window.RPP_READY = true;
  }
  window.RPP = {init: init, parseWKT: parseWKT, toWKT: toWKT};
})();
