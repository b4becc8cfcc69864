/* ruralplan map explorer: fills the layer groups folium created with the compact
 * GeoJSON of each layer, styles them, and wires popups, search, filters, the town
 * choropleth and the fullscreen button. No dependencies besides Leaflet (and
 * Leaflet.markercluster when villages are clustered). User text is always set with
 * textContent, never as HTML. */
(function () {
  "use strict";

  // popupExtras: function (spec, props, root) hooks that add to a feature's popup;
  // startHooks: functions run once the map exists (e.g. rpnetwork.js).
  var RP = (window.RP = { layers: [], byName: {}, t0: performance.now(), popupExtras: [], startHooks: [] });
  var cfg = {};
  var lang = (document.documentElement.lang || "zh").slice(0, 2);

  RP.register = function (group, spec) {
    var entry = { group: group, spec: spec, items: [], data: null };
    RP.layers.push(entry);
    RP.byName[spec.name] = entry;
  };

  function t(key, values) {
    var s = (cfg.i18n && cfg.i18n[key]) || key;
    Object.keys(values || {}).forEach(function (k) { s = s.replace("{" + k + "}", values[k]); });
    return s;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmtNumber(v, decimals) {
    var opts = decimals === undefined ? { maximumFractionDigits: 2 } : { maximumFractionDigits: decimals, minimumFractionDigits: 0 };
    return Number(v).toLocaleString(lang === "zh" ? "zh-CN" : "en", opts);
  }

  /* Travel minutes at 0.01, as web.formatting.format_minutes writes them (12.30, 30.01). */
  function fmtMinutes(v) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    return Number(v).toLocaleString(lang === "zh" ? "zh-CN" : "en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function fmtValue(field, v) {
    if (field.type === "bool") return v ? t("yes") : t("no");
    if (field.choices && Object.prototype.hasOwnProperty.call(field.choices, v)) return field.choices[v];
    if (typeof v === "number") return fmtNumber(v) + (field.unit ? " " + field.unit : "");
    return String(v);
  }

  function popupContent(spec, props) {
    var root = el("div", "rp-popup");
    root.appendChild(el("div", "rp-popup-layer", spec.label));
    root.appendChild(el("h4", null, props.name || props[spec.id_field] || spec.label));
    var table = el("table");
    spec.fields.forEach(function (f) {
      if (!Object.prototype.hasOwnProperty.call(props, f.name)) return;
      var tr = el("tr");
      tr.appendChild(el("th", null, f.label));
      tr.appendChild(el("td", null, fmtValue(f, props[f.name])));
      table.appendChild(tr);
    });
    root.appendChild(table);
    RP.popupExtras.forEach(function (extra) { extra(spec, props, root); });
    return root;
  }

  function radius(r, value) {
    var v = Math.max(0, Number(value) || 0);
    return Math.min(r.max, r.base + r.k * Math.sqrt(v));
  }

  // Leaflet puts strings given as tooltip, popup or divIcon content in as HTML: always
  // hand it DOM nodes built with textContent (data names may hold markup).
  function symbolIcon(shape, color, size) {
    var span = el("span", "rp-sym rp-sym-" + shape);
    span.style.setProperty("--c", color);
    span.style.setProperty("--s", size + "px");
    return L.divIcon({ className: "rp-sym-icon", html: span, iconSize: [size, size] });
  }

  // --------------------------------------------------------------- feature -> Leaflet layer
  function pointLayer(spec, props, latlng) {
    var s = spec.style;
    if (s.kind === "village") {
      var monitored = (props.monitored_unstable || 0) + (props.monitored_marginal || 0) + (props.monitored_sudden || 0);
      return L.circleMarker(latlng, {
        radius: radius(s.radius, monitored),
        fillColor: props.former_poor ? s.colors.former_poor : s.colors.other,
        fillOpacity: 0.85,
        color: props.key_village ? "#111" : "#fff",
        weight: props.key_village ? 2 : 1,
      });
    }
    if (s.kind === "symbol") {
      var color = s.colors[props[s.color_by]] || s.default_color;
      var shape = s.shapes[props[s.shape_by]] || "circle";
      return L.marker(latlng, { icon: symbolIcon(shape, color, 14), keyboard: false });
    }
    if (s.kind === "label") {
      return L.circleMarker(latlng, { radius: 4, color: "#fff", weight: 1.5, fillColor: s.color, fillOpacity: 1 })
        .bindTooltip(el("span", null, props.name || ""), { permanent: true, direction: "right", className: "rp-town-label", offset: [6, 0] });
    }
    var col = s.color || (s.colors && s.colors[props[s.color_by]]) || "#555";
    var r = s.radius_by ? radius(s.radius, props[s.radius_by]) : s.radius ? s.radius.base : 6;
    if (s.square) return L.marker(latlng, { icon: symbolIcon("square", col, Math.round(r * 2)), keyboard: false });
    var opts = { radius: r, fillColor: col, color: col, weight: 1.5, fillOpacity: 0.8 };
    var status = s.status_by ? props[s.status_by] : null;
    if (status === "under_construction") { opts.fillOpacity = 0.35; opts.dashArray = "3 2"; }
    if (status === "planned") { opts.fillOpacity = 0.05; opts.dashArray = "2 3"; opts.weight = 2; }
    return L.circleMarker(latlng, opts);
  }

  function pathStyle(spec, props) {
    var s = spec.style;
    if (s.styles) {
      var st = s.styles[props[s.color_by]] || { color: "#888", weight: 1 };
      return L.extend({ opacity: 0.9, fill: s.fill !== false && s.kind !== "line" }, st, s.fill === false ? { fill: false } : {});
    }
    var color = (s.colors && s.colors[props[s.color_by]]) || s.color || "#555";
    return { color: color, weight: 1, fillColor: color, fillOpacity: s.fillOpacity || 0.3 };
  }

  function buildItems(entry, data) {
    var spec = entry.spec;
    var items = [];
    data.features.forEach(function (feature) {
      var props = feature.properties || {};
      var geom = feature.geometry;
      if (!geom) return;
      var layer;
      if (geom.type === "Point") {
        layer = pointLayer(spec, props, L.latLng(geom.coordinates[1], geom.coordinates[0]));
      } else {
        layer = L.geoJSON(feature, { style: function () { return pathStyle(spec, props); } });
      }
      layer.bindPopup(function () { return popupContent(spec, props); }, { maxWidth: 360 });
      items.push({ props: props, layer: layer });
    });
    return items;
  }

  // --------------------------------------------------------------- filters
  function filterValues() {
    return {
      town: (document.getElementById("rp-filter-town") || {}).value || "",
      status: (document.getElementById("rp-filter-status") || {}).value || "",
    };
  }

  function matches(entry, props, f) {
    if (f.town && entry.spec.fields.some(function (x) { return x.name === "town"; }) && props.town !== f.town) return false;
    if (f.status && entry.spec.name === "villages") {
      if (f.status === "monitored") {
        return (props.monitored_unstable || 0) + (props.monitored_marginal || 0) + (props.monitored_sudden || 0) > 0;
      }
      return !!props[f.status];
    }
    return true;
  }

  function show(entry, items) {
    entry.group.clearLayers();
    var layers = items.map(function (it) { return it.layer; });
    if (entry.spec.cluster && entry.group.addLayers) entry.group.addLayers(layers);
    else layers.forEach(function (l) { entry.group.addLayer(l); });
  }

  function applyFilters(zoom) {
    var f = filterValues();
    RP.layers.forEach(function (entry) {
      if (entry.spec.kind === "choropleth" || !entry.items.length) return;
      var visible = entry.items.filter(function (it) { return matches(entry, it.props, f); });
      entry.visible = visible;
      show(entry, visible);
      if (entry.spec.name === "villages") {
        var msg = document.getElementById("rp-filter-count");
        if (msg) msg.textContent = t("villages_shown", { n: visible.length, total: entry.items.length });
        if (zoom && f.town && visible.length) {
          RP.map.fitBounds(L.latLngBounds(visible.map(function (it) { return it.layer.getLatLng(); })).pad(0.2));
        }
      }
    });
  }

  // --------------------------------------------------------------- search
  function fillSearchList(entry) {
    var list = document.getElementById("rp-village-list");
    if (!list) return;
    var frag = document.createDocumentFragment();
    entry.items.forEach(function (it) {
      var opt = document.createElement("option");
      opt.value = (it.props.name || "") + " " + (it.props.code || "");
      frag.appendChild(opt);
    });
    list.appendChild(frag);
  }

  function findVillage(q) {
    var entry = RP.byName.villages;
    if (!entry || !q) return null;
    var items = entry.items;
    var code = (q.match(/\d{6,12}/) || [null])[0];
    var name = q.replace(/\d{6,12}/, "").trim();
    var hit = null;
    if (code) hit = items.find(function (it) { return it.props.code === code; }) || items.find(function (it) { return String(it.props.code).indexOf(code) === 0; });
    if (!hit && name) hit = items.find(function (it) { return it.props.name === name; }) || items.find(function (it) { return String(it.props.name || "").indexOf(name) >= 0; });
    return hit;
  }

  function search(q) {
    var msg = document.getElementById("rp-search-message");
    var hit = findVillage(q.trim());
    if (!hit) { if (msg) msg.textContent = t("not_found", { q: q }); return; }
    if (msg) msg.textContent = "";
    var entry = RP.byName.villages;
    if (entry.visible && entry.visible.indexOf(hit) < 0) {
      document.getElementById("rp-filter-town").value = "";
      document.getElementById("rp-filter-status").value = "";
      applyFilters(false);
    }
    if (!RP.map.hasLayer(entry.group)) RP.map.addLayer(entry.group);
    if (entry.spec.cluster && entry.group.zoomToShowLayer) {
      entry.group.zoomToShowLayer(hit.layer, function () { hit.layer.openPopup(); });
    } else {
      RP.map.setView(hit.layer.getLatLng(), Math.max(RP.map.getZoom(), 13));
      hit.layer.openPopup();
    }
  }

  // --------------------------------------------------------------- choropleth
  function quantileBreaks(values, n) {
    var v = values.slice().sort(function (a, b) { return a - b; });
    var breaks = [];
    for (var i = 1; i < n; i++) breaks.push(v[Math.min(v.length - 1, Math.floor((i * v.length) / n))]);
    return breaks.filter(function (b, i) { return i === 0 || b !== breaks[i - 1]; });
  }

  function classOf(breaks, value) {
    var i = 0;
    while (i < breaks.length && value >= breaks[i]) i++;
    return i;
  }

  function drawChoropleth(indicator) {
    var entry = RP.byName.choropleth;
    if (!entry || !entry.data) return;
    var legend = document.getElementById("rp-choropleth-legend");
    if (legend) legend.textContent = "";
    if (!indicator) { RP.map.removeLayer(entry.group); return; }
    var meta = cfg.indicators[indicator] || {};
    var colors = entry.spec.colors;
    var values = entry.data.features.map(function (f) { return f.properties[indicator]; })
      .filter(function (v) { return typeof v === "number"; });
    var breaks = values.length ? quantileBreaks(values, colors.length) : [];
    var palette = breaks.length + 1 < colors.length ? colors.slice(colors.length - breaks.length - 1) : colors;
    entry.group.clearLayers();
    L.geoJSON(entry.data, {
      style: function (f) {
        var v = f.properties[indicator];
        var has = typeof v === "number";
        return { color: "#555", weight: 1, fillOpacity: has ? 0.7 : 0.15, fillColor: has ? palette[classOf(breaks, v)] : "#ccc" };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        var v = p[indicator];
        var text = (p.name || "") + ": " + (typeof v === "number" ? fmtNumber(v, meta.decimals) + " " + (meta.unit || "") : t("no_data"));
        layer.bindTooltip(function () { return el("span", null, text); }, { sticky: true });
      },
    }).addTo(entry.group);
    if (!RP.map.hasLayer(entry.group)) RP.map.addLayer(entry.group);
    entry.group.bringToBack();
    if (legend && values.length) {
      var lo = Math.min.apply(null, values);
      var hi = Math.max.apply(null, values);
      var edges = [lo].concat(breaks, [hi]);
      palette.forEach(function (c, i) {
        var row = el("div", "rp-scale-row");
        var sw = el("span", "rp-sym rp-sym-area");
        sw.style.setProperty("--c", c);
        row.appendChild(sw);
        row.appendChild(el("span", null, fmtNumber(edges[i], meta.decimals) + " – " + fmtNumber(edges[i + 1], meta.decimals) + " " + (meta.unit || "")));
        legend.appendChild(row);
      });
    }
  }

  // --------------------------------------------------------------- controls
  var Fullscreen = L.Control.extend({
    options: { position: "topleft" },
    onAdd: function () {
      var box = L.DomUtil.create("div", "leaflet-bar rp-fullscreen");
      var a = L.DomUtil.create("a", "", box);
      a.href = "#";
      a.setAttribute("role", "button");
      a.title = t("fullscreen");
      a.setAttribute("aria-label", t("fullscreen"));
      L.DomEvent.on(a, "click", function (e) {
        L.DomEvent.preventDefault(e);
        var target = document.getElementById("rp-map-wrap") || RP.map.getContainer();
        if (document.fullscreenElement) document.exitFullscreen();
        else if (target.requestFullscreen) target.requestFullscreen();
      });
      L.DomEvent.disableClickPropagation(box);
      document.addEventListener("fullscreenchange", function () {
        var on = !!document.fullscreenElement;
        a.title = on ? t("exit_fullscreen") : t("fullscreen");
        document.body.classList.toggle("rp-fullscreen-on", on);
        setTimeout(function () { RP.map.invalidateSize(); }, 50);
      });
      return box;
    },
  });

  RP.util = { t: t, el: el, fmtNumber: fmtNumber, fmtMinutes: fmtMinutes };

  function loadData(entry) {
    if (entry.spec.count === 0) return Promise.resolve({ type: "FeatureCollection", features: [] });
    if (cfg.inline) {
      var node = document.getElementById("rp-data-" + entry.spec.name);
      if (node) return Promise.resolve(JSON.parse(node.textContent));
    }
    return fetch(entry.spec.url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error(entry.spec.url + ": HTTP " + r.status);
      return r.json();
    });
  }

  function ensureLoaded(entry) {
    if (!entry.loading) {
      entry.loading = loadData(entry).then(function (data) {
        entry.data = data;
        if (entry.spec.kind === "choropleth") return;
        entry.items = buildItems(entry, data);
        entry.visible = entry.items;
        show(entry, entry.items);
        if (entry.spec.name === "villages") fillSearchList(entry);
      });
    }
    return entry.loading;
  }

  function wireSidebar() {
    var form = document.getElementById("rp-search");
    if (form) form.addEventListener("submit", function (e) { e.preventDefault(); search(document.getElementById("rp-search-input").value); });
    ["rp-filter-town", "rp-filter-status"].forEach(function (id) {
      var s = document.getElementById(id);
      if (s) s.addEventListener("change", function () { applyFilters(id === "rp-filter-town"); });
    });
    var ind = document.getElementById("rp-indicator");
    if (ind) ind.addEventListener("change", function () { drawChoropleth(ind.value); });
    RP.map.on("overlayadd", function (e) {
      var entry = RP.byName.choropleth;
      if (entry && e.layer === entry.group && ind && !ind.value) {
        ind.value = ind.options[1] ? ind.options[1].value : "";
        drawChoropleth(ind.value);
      }
    });
    RP.map.on("overlayremove", function (e) {
      var entry = RP.byName.choropleth;
      if (entry && e.layer === entry.group && ind) { ind.value = ""; drawChoropleth(""); }
    });
  }

  // The print link (/print/map) follows the page: the layers switched on and the extent
  // shown, so the printed sheet is the map the user set up.
  RP.printQuery = function () {
    var names = RP.layers.filter(function (e) { return RP.map.hasLayer(e.group); })
      .map(function (e) { return e.spec.name; });
    var b = RP.map.getBounds();
    var r = function (v) { return (Math.round(v * 1e5) / 1e5).toString(); };
    var bbox = [Math.max(-180, b.getWest()), Math.max(-90, b.getSouth()),
                Math.min(180, b.getEast()), Math.min(90, b.getNorth())].map(r).join(",");
    return "layers=" + encodeURIComponent(names.join(",")) + "&bbox=" + encodeURIComponent(bbox);
  };

  function wirePrintLink(map) {
    var a = document.getElementById("rp-print-map");
    if (!a) return;
    var base = a.getAttribute("href").split("?")[0];
    var update = function () { a.setAttribute("href", base + "?" + RP.printQuery()); };
    map.on("overlayadd overlayremove moveend zoomend", update);
    update();
  }

  RP.start = function (map, control, config) {
    cfg = RP.cfg = config || {};
    RP.map = map;
    RP.control = control;
    if (cfg.bounds) map.fitBounds(cfg.bounds, { padding: [12, 12] });
    new Fullscreen().addTo(map);
    wireSidebar();
    wirePrintLink(map);
    RP.startHooks.forEach(function (hook) { hook(map, cfg); });
    var status = document.getElementById("rp-map-status");
    // Layers hidden on opening are fetched the first time they are switched on.
    var eager = RP.layers.filter(function (e) { return e.spec.kind === "choropleth" || map.hasLayer(e.group); });
    RP.layers.forEach(function (entry) {
      if (eager.indexOf(entry) >= 0) return;
      entry.group.once("add", function () {
        ensureLoaded(entry).then(function () { applyFilters(false); }).catch(function (err) { console.error(err); });
      });
    });
    Promise.all(eager.map(ensureLoaded)).then(function () {
      applyFilters(false);
      RP.layers.forEach(function (e) { if (e.spec.name === "boundaries" && map.hasLayer(e.group)) e.group.bringToBack(); });
      if (status) status.hidden = true;
      RP.readyMs = performance.now();
      window.RP_READY = true;
      document.documentElement.setAttribute("data-map-ready", "1");
    }).catch(function (err) {
      if (status) { status.textContent = t("load_failed"); status.classList.add("rp-error"); }
      window.RP_FAILED = String(err);
      console.error(err);
    });
  };
})();
