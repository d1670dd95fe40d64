/* geoplan map: draws the layers of one geoplan check on a Leaflet map.
 *
 * Every text inside the data block was HTML-escaped by geoplan (Python,
 * html.escape) before it was written; this script only joins those pieces into
 * popup, tooltip and legend markup and never reads text from anywhere else.
 * The data block is JSON in a script element of type application/json, parsed
 * with JSON.parse: nothing in it is ever evaluated as code.
 *
 * Point sites (and the markers of footprint sites) are drawn by one canvas of
 * their own, batched by verdict, and hit-tested on the map's click and
 * mousemove events: tens of thousands of sites pan and zoom without creating
 * one Leaflet layer per site. Line sites (roads), footprints, evidence and
 * constraint layers are Leaflet vector layers on the map's canvas renderer;
 * the evidence is drawn last, above its site, with a halo while it is small.
 *
 * Needs geoplan-leaflet.js (window.geoplanUtil), loaded before it.
 */
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  function popupHtml(data, p) {
    var v = data.verdicts[p.v];
    var h = '<div class="gp-pop"><div class="gp-pop-h"><span class="gp-badge" style="background:' +
      v.c + ';color:' + v.t + '">' + v.zh + ' ' + v.en + '</span> <b class="gp-id">' + p.i +
      '</b></div>';
    if (p.a && p.a.length) {
      h += '<div class="gp-attrs">';
      for (var a = 0; a < p.a.length; a++) {
        h += '<span><i>' + data.fields[p.a[a][0]] + '</i> ' + p.a[a][1] + '</span>';
      }
      h += '</div>';
    }
    if (p.f && p.f.length) {
      h += '<table class="gp-ftab">';
      for (var k = 0; k < p.f.length; k++) {
        var f = p.f[k], r = data.rules[f[0]], s = data.statuses[f[1]];
        h += '<tr><td><span class="gp-chip" style="background:' + s.c + ';color:' + s.t + '">' +
          s.zh + '</span></td>' +
          '<td><div class="gp-rt">' + r.zh + ' <span class="gp-clause">' + r.cl + '</span></div>' +
          '<div class="gp-en">' + r.en + '</div>' +
          '<div class="gp-meas">' + (f[2] ? (p.nom ? '<b>按名义宅基 on the nominal footprint</b> '
                                              : '<b>实测 measured</b> ') + f[2] : '') +
          (f[3] ? ' · <b>限值 limit</b> ' + f[3] : '') + '</div>' +
          (f[4] ? '<div class="gp-msg">' + f[4] + '</div>' : '') +
          (f[5] ? '<div class="gp-msg gp-en">' + f[5] + '</div>' : '') +
          (f[6] ? '<div class="gp-dec">审批决定 decision: ' + f[6] + '</div>' : '') +
          '</td></tr>';
      }
      h += '</table>';
    } else if (p.v === 4) {
      h += '<div class="gp-ok">全部规则通过 · all rules passed</div>';
    }
    if (p.n) {
      h += '<div class="gp-nc">未核查 not checked: ' + p.n + '</div>';
    }
    if (p.o) {
      h += '<div class="gp-nc">处理 processing: ' + p.o + '</div>';
    }
    if (p.g) {
      for (var g = 0; g < p.g.length; g++) {
        h += '<div class="gp-sg">' + p.g[g][0] + '<div class="gp-en">' + p.g[g][1] +
          '</div></div>';
      }
    }
    return h + '</div>';
  }

  function siteTip(data, p) {
    var v = data.verdicts[p.v];
    return '<b>' + p.i + '</b> · ' + v.zh + ' ' + v.en;
  }

  // One canvas for all point sites: drawn in batches (one path per verdict),
  // worst verdict on top; keeps the pixel position of what it drew for hit tests.
  var PointSites = L.Canvas.extend({
    initialize: function (sites, verdicts, options) {
      L.Canvas.prototype.initialize.call(this, options);
      this._sites = sites;            // [{ll, p}] in the order of data.sites
      this._verdicts = verdicts;      // [{c}] colours
      this._show = verdicts.map(function () { return true; });
      this._keep = null;              // or a flag per site: drawn only where true
      this._small = false;            // footprint markers shrink when zoomed in
      this._pzoom = null;             // zoom of the cached projection
      this._px = new Float64Array(sites.length * 2);
      this._hitX = new Float64Array(0);
      this._hitY = new Float64Array(0);
      this._hitI = new Int32Array(0);
      this._hitR = new Float64Array(0);
      this.drawn = 0;
    },
    onAdd: function () {
      L.Canvas.prototype.onAdd.call(this);
      this._container.style.pointerEvents = "none";   // the map handles the events
    },
    _initContainer: function () {
      var c = this._container = document.createElement("canvas");
      this._ctx = c.getContext("2d");
    },
    _radius: function (p) {
      if (p.fp && this._small) { return 3; }
      return p.v === 0 ? 6 : 5;
    },
    setVisible: function (vi, on) { this._show[vi] = on; if (this._map) { this._redraw(); } },
    setSmall: function (on) {
      if (this._small !== on) { this._small = on; if (this._map) { this._redraw(); } }
    },
    // The marker's disc (the path is set): fill in the verdict colour, white ring.
    _paint: function (g, look) {
      g.globalAlpha = 0.95;
      g.fillStyle = look.c;
      g.fill();
      g.globalAlpha = 1;
      g.lineWidth = 1.3;
      g.strokeStyle = "#ffffff";
      g.stroke();
    },
    // A marker drawn once and stamped with drawImage: much cheaper to paint than
    // thousands of stroked arcs.
    _sprite: function (vi, r) {
      var key = vi + ":" + r, cache = this._sprites || (this._sprites = {});
      if (cache[key]) { return cache[key]; }
      var m = window.devicePixelRatio > 1 ? 2 : 1, half = r + 2, size = 2 * half;
      var c = document.createElement("canvas");
      c.width = size * m;
      c.height = size * m;
      var g = c.getContext("2d");
      g.scale(m, m);
      g.beginPath();
      g.arc(half, half, r, 0, 2 * Math.PI);
      this._paint(g, this._verdicts[vi]);
      c.half = half;
      c.size = size;
      cache[key] = c;
      return c;
    },
    _project: function () {
      var map = this._map, z = map.getZoom(), n = this._sites.length;
      for (var i = 0; i < n; i++) {
        var q = map.project(this._sites[i].ll, z);
        this._px[2 * i] = q.x;
        this._px[2 * i + 1] = q.y;
      }
      this._pzoom = z;
    },
    _draw: function () {
      var map = this._map;
      if (!map || !this._bounds) { return; }
      if (this._pzoom !== map.getZoom()) { this._project(); }
      var o = map.getPixelOrigin(), b = this._bounds, ctx = this._ctx;
      var n = this._sites.length, order = [4, 3, 2, 1, 0];
      var hx = [], hy = [], hi = [], hr = [];
      for (var k = 0; k < order.length; k++) {
        var vi = order[k];
        if (!this._show[vi]) { continue; }
        for (var i = 0; i < n; i++) {
          var p = this._sites[i].p;
          if (p.v !== vi || (this._keep && !this._keep[i])) { continue; }
          var x = this._px[2 * i] - o.x, y = this._px[2 * i + 1] - o.y, r = this._radius(p);
          if (x < b.min.x - r || x > b.max.x + r || y < b.min.y - r || y > b.max.y + r) { continue; }
          var sp = this._sprite(vi, r);
          ctx.drawImage(sp, Math.round(x) - sp.half, Math.round(y) - sp.half, sp.size, sp.size);
          hx.push(x); hy.push(y); hi.push(i); hr.push(r);
        }
      }
      this._hitX = Float64Array.from(hx);
      this._hitY = Float64Array.from(hy);
      this._hitI = Int32Array.from(hi);
      this._hitR = Float64Array.from(hr);
      this.drawn = hi.length;
    },
    // The top-most drawn site within its radius (+3 px) of a layer point, or -1.
    hit: function (lp) {
      var best = -1;
      for (var j = 0; j < this._hitI.length; j++) {
        var dx = this._hitX[j] - lp.x, dy = this._hitY[j] - lp.y, r = this._hitR[j] + 3;
        if (dx * dx + dy * dy <= r * r) { best = j; }
      }
      return best < 0 ? -1 : this._hitI[best];
    }
  });

  // The halos of the evidence small on screen: a translucent disc in the status colour with a
  // dark ring, of fixed pixel radius, stamped like the point sites on a canvas of their own.
  var Halos = PointSites.extend({
    _radius: function () { return 11; },
    _paint: function (g, look) {
      g.globalAlpha = 0.3;
      g.fillStyle = look.c;
      g.fill();
      g.globalAlpha = 0.9;
      g.lineWidth = 1.5;
      g.strokeStyle = look.dark;
      g.stroke();
    }
  });

  window.geoplanMap = function (map, dataId, panelId) {
    var t0 = performance.now();
    var data = JSON.parse(byId(dataId).textContent);
    var state = { ready: false, map: map, data: data, parseMs: performance.now() - t0 };
    window.geoplan = state;
    // on a phone the popup is as wide as the map allows (CSS caps it at the viewport) and
    // scrolls when taller than the map; on a desktop 280-460 px
    var mapPx = map.getSize();
    var popupOpts = { maxWidth: 460, minWidth: Math.min(280, Math.max(160, mapPx.x - 90)),
                      maxHeight: Math.max(220, mapPx.y - 140), className: "gp-popup",
                      autoPanPadding: L.point(8, 8) };

    // ---------------------------------------------------------------- constraint layers
    var constraints = data.layers.map(function (ly) {
      var st = ly.style;
      var g = L.geoJSON(ly.data, {
        style: function () { return st; },
        pointToLayer: function (f, ll) { return L.circleMarker(ll, st); }
      });
      if (ly.labels) {
        g.eachLayer(function (l) {
          var n = l.feature.properties.t;
          if (n) {
            l.bindTooltip(n, { permanent: true, direction: "right", offset: [6, 0],
                               className: "gp-label", interactive: false });
          }
        });
      } else {
        g.bindTooltip(function (l) {
          var t = l.feature.properties.t;
          return '<b>' + ly.zh + '</b> ' + ly.en + (t ? '<br>' + t : '');
        }, { sticky: true, className: "gp-tip gp-tip-c" });
      }
      return { info: ly, layer: g, on: !!ly.on };
    });

    // ---------------------------------------------------------------- evidence
    // Each piece of evidence is drawn on the vector canvas with its shape, outlined with a
    // fixed pixel weight (lines thicker), above its site; and while the shape is smaller on
    // screen than HALO_PX a halo marks it: a translucent disc of fixed pixel radius at its
    // centre (Halos, a canvas of its own between the vector canvas and the point sites). A
    // 2 m setback sliver or a point keeps a size of its own at every zoom — a shape shrunk
    // below a pixel draws nothing, however wide its outline — and shows around the marker
    // of its site. Hovering a halo shows the evidence, clicking it the site's popup.
    var HALO_PX = 24;
    function isLine(f) {
      var t = f.geometry ? f.geometry.type : "";
      return t === "LineString" || t === "MultiLineString";
    }
    var evStyle = data.statuses.map(function (s) {
      return { color: s.dark, weight: 2, opacity: 1, fillColor: s.c, fillOpacity: 0.7, radius: 4 };
    });
    var evLineStyle = data.statuses.map(function (s) {
      return { color: s.dark, weight: 4, opacity: 1, lineCap: "round" };
    });
    var evidence = L.geoJSON(data.evidence, {
      style: function (f) { return (isLine(f) ? evLineStyle : evStyle)[f.properties.s]; },
      pointToLayer: function (f, ll) { return L.circleMarker(ll, evStyle[f.properties.s]); }
    });
    var haloItems = [];             // per shape: {ll: its centre, p: {v: status}, shape, b}
    evidence.eachLayer(function (shape) {
      var b = shape.getBounds ? shape.getBounds() : L.latLngBounds([shape.getLatLng()]);
      haloItems.push({ ll: b.getCenter(), p: { v: shape.feature.properties.s }, shape: shape,
                       b: b });
    });
    map.createPane("gpHalos").style.zIndex = 440;
    var halos = new Halos(haloItems, data.statuses, { pane: "gpHalos", padding: 0.1 });
    halos._keep = haloItems.map(function () { return false; });
    var evidenceOnly = null;        // a filter of the evidence drawn (state.filterEvidence)
    function updateHalos(force) {
      var z = map.getZoom(), changed = false;
      for (var h = 0; h < haloItems.length; h++) {
        var e = haloItems[h], sw = map.project(e.b.getSouthWest(), z),
            ne = map.project(e.b.getNorthEast(), z);
        var small = Math.max(Math.abs(ne.x - sw.x), Math.abs(ne.y - sw.y)) < HALO_PX &&
                    (!evidenceOnly || evidenceOnly(e.shape.feature.properties));
        if (small !== halos._keep[h]) { halos._keep[h] = small; changed = true; }
      }
      if ((changed || force) && halos._map) { halos._redraw(); }
    }
    function evidenceTip(l) {
      var p = l.feature.properties, r = data.rules[p.r];
      return '<b>' + p.i + '</b> · ' + r.zh + '<br><span class="gp-en">' + r.en + '</span>' +
        (p.t ? '<br>' + p.t : '');
    }
    evidence.bindTooltip(evidenceTip, { sticky: true, className: "gp-tip gp-tip-c" });
    // a click on evidence opens its site's popup (unless a point site is under the mouse:
    // the map's click opens that one)
    evidence.on("click", function (e) {
      if (map.hasLayer(pointSites) && pointSites.hit(e.layerPoint) >= 0) { return; }
      var site = state.findSite(e.layer.feature.properties.i);
      if (site) {
        e.originalEvent.gpDone = true;
        evidence.closeTooltip();
        openSitePopup(site);
      }
    });

    // ---------------------------------------------------------------- sites
    var features = data.sites.features;
    var points = [];          // point sites, drawn by PointSites
    var lineLayers = data.verdicts.map(function (v) {   // line sites, one layer per verdict
      var ln = { color: v.c, weight: 5, opacity: 0.95, gpSite: true };
      var g = L.geoJSON(null, { style: function () { return ln; } });
      g.bindPopup(function (l) { return popupHtml(data, l.feature.properties); }, popupOpts);
      g.bindTooltip(function (l) { return siteTip(data, l.feature.properties); },
                    { sticky: true, className: "gp-tip gp-tip-s" });
      g.on("popupopen", function () { g.closeTooltip(); });
      return g;
    });
    var byRow = {};
    for (var i = 0; i < features.length; i++) {
      var f = features[i], gt = f.geometry.type;
      if (gt === "Point") {
        var c = f.geometry.coordinates;
        byRow[f.properties.r] = { kind: "point", k: points.length, p: f.properties,
                                  ll: L.latLng(c[1], c[0]) };
        points.push({ ll: L.latLng(c[1], c[0]), p: f.properties });
      } else {
        lineLayers[f.properties.v].addData(f);
      }
    }
    lineLayers.forEach(function (g) {
      g.eachLayer(function (l) {
        // the middle of the line along its length once on the map, its box centre before
        var site = { kind: "line", layer: l, p: l.feature.properties };
        Object.defineProperty(site, "ll", { get: function () {
          return l._map ? l.getCenter() : l.getBounds().getCenter();
        } });
        byRow[l.feature.properties.r] = site;
      });
    });
    map.createPane("gpSites").style.zIndex = 450;
    var pointSites = new PointSites(points, data.verdicts, { pane: "gpSites", padding: 0.1 });

    // Footprints show only when zoomed in: built on first need.
    var footprints = null;
    function footprintLayer() {
      if (footprints) { return footprints; }
      footprints = L.geoJSON(data.footprints, {
        style: function (f) {
          var v = data.verdicts[f.properties.v];
          return { color: v.c, weight: 2, fillColor: v.c, fillOpacity: 0.25 };
        }
      });
      footprints.bindPopup(function (l) {
        return popupHtml(data, features[l.feature.properties.s].properties);
      }, popupOpts);
      state.footprints = footprints;
      return footprints;
    }

    function openSitePopup(site) {
      if (site.kind === "line") {
        site.layer.fire("click", { latlng: site.ll }, true);
      } else {
        L.popup(popupOpts).setLatLng(site.ll).setContent(popupHtml(data, site.p)).openOn(map);
      }
    }

    var tip = L.tooltip({ sticky: true, className: "gp-tip gp-tip-s", direction: "right",
                          offset: [8, 0] });
    // the point site under the mouse, else the halo: [kind, index] or null
    function hitAt(lp) {
      var k = map.hasLayer(pointSites) ? pointSites.hit(lp) : -1;
      if (k >= 0) { return ["site", k]; }
      var h = map.hasLayer(halos) ? halos.hit(lp) : -1;
      return h >= 0 ? ["halo", h] : null;
    }
    map.on("click", function (e) {
      var hit = hitAt(e.layerPoint);
      if (!hit || (hit[0] === "halo" && e.originalEvent && e.originalEvent.gpDone)) { return; }
      map.closeTooltip(tip);
      if (hit[0] === "site") {
        openSitePopup({ kind: "point", ll: points[hit[1]].ll, p: points[hit[1]].p });
      } else {
        var site = state.findSite(haloItems[hit[1]].shape.feature.properties.i);
        if (site) { openSitePopup(site); }
      }
    });
    var pending = null;
    map.on("mousemove", function (e) {
      var first = pending === null;
      pending = e;
      if (!first) { return; }
      L.Util.requestAnimFrame(function () {
        var ev = pending;
        pending = null;
        var hit = hitAt(ev.layerPoint);
        var box = map.getContainer();
        var popupOpen = map._popup && map.hasLayer(map._popup);
        if (hit) { L.DomUtil.addClass(box, "gp-on-site"); }
        else { L.DomUtil.removeClass(box, "gp-on-site"); }
        if (hit && !popupOpen) {
          var k = hit[1];
          if (hit[0] === "site") {
            tip.setLatLng(points[k].ll).setContent(siteTip(data, points[k].p));
          } else {
            tip.setLatLng(haloItems[k].ll).setContent(evidenceTip(haloItems[k].shape));
          }
          if (!map.hasLayer(tip)) { map.openTooltip(tip); }
        } else if (map.hasLayer(tip)) {
          map.closeTooltip(tip);
        }
      });
    });
    map.on("popupopen", function () { map.closeTooltip(tip); });

    // ---------------------------------------------------------------- visibility
    var vis = { verdicts: data.verdicts.map(function () { return true; }),
                evidence: true, footprints: true };

    function setOn(layer, on) {
      if (on && !map.hasLayer(layer)) { map.addLayer(layer); }
      if (!on && map.hasLayer(layer)) { map.removeLayer(layer); }
    }

    // The vector canvas draws in insertion order: constraints at the bottom, then the
    // footprints and roads (failing roads above the others), then the evidence, on top of
    // its site (the halos, then the point sites, have panes of their own above all these).
    function restack() {
      constraints.forEach(function (c) { if (c.on) { c.layer.bringToFront(); } });
      if (footprints && map.hasLayer(footprints)) { footprints.bringToFront(); }
      for (var k = lineLayers.length - 1; k >= 0; k--) {
        if (map.hasLayer(lineLayers[k])) { lineLayers[k].bringToFront(); }
      }
      if (map.hasLayer(evidence)) { evidence.bringToFront(); }
    }

    // Zoomed in, a footprint site's marker shrinks to a dot so that the footprint
    // and its evidence show around it.
    function applyZoom() {
      var z = map.getZoom();
      var fpOn = vis.footprints && z >= data.footprintZoom;
      if (fpOn || footprints) { setOn(footprintLayer(), fpOn); }
      pointSites.setSmall(fpOn);
      var c = map.getContainer();
      if (z >= data.labelZoom) { L.DomUtil.removeClass(c, "gp-nolabels"); }
      else { L.DomUtil.addClass(c, "gp-nolabels"); }
    }

    function setVerdict(vi, on) {
      vis.verdicts[vi] = on;
      setOn(lineLayers[vi], on);
      pointSites.setVisible(vi, on);
    }

    // ---------------------------------------------------------------- panel
    var panel = byId(panelId);
    if (panel) {
      var Panel = L.Control.extend({
        options: { position: "topright" },
        onAdd: function () {
          panel.style.display = "";
          L.DomEvent.disableClickPropagation(panel);
          L.DomEvent.disableScrollPropagation(panel);
          return panel;
        }
      });
      new Panel().addTo(map);
      // Narrower than NARROW_PX (a notebook's output, a phone) the panel starts folded to its
      // title and the ☰ button; a click opens it. Until the user clicks, it follows the width.
      var NARROW_PX = 700, tog = panel.querySelector(".gp-toggle"), userFolded = false;
      var fold = function (on) {
        if (on) { L.DomUtil.addClass(panel, "gp-collapsed"); }
        else { L.DomUtil.removeClass(panel, "gp-collapsed"); }
        if (tog) { tog.setAttribute("aria-expanded", on ? "false" : "true"); }
      };
      var fitPanel = function () {
        var size = map.getSize();
        panel.style.maxHeight = Math.max(120, size.y - 20) + "px";
        if (!userFolded) { fold(size.x < NARROW_PX); }
      };
      fitPanel();
      map.on("resize", fitPanel);
      if (tog) {
        L.DomEvent.on(tog, "click", function () {
          userFolded = true;
          fold(!L.DomUtil.hasClass(panel, "gp-collapsed"));
        });
      }
      var boxes = panel.querySelectorAll("input[data-gp]");
      var groupBoxes = {};
      var syncGroups = function () {
        Object.keys(groupBoxes).forEach(function (g) {
          var members = constraints.filter(function (c) { return c.info.group === g; });
          var n = members.filter(function (c) { return c.on; }).length;
          groupBoxes[g].checked = n === members.length;
          groupBoxes[g].indeterminate = n > 0 && n < members.length;
        });
      };
      Array.prototype.forEach.call(boxes, function (b) {
        var kind = b.getAttribute("data-gp");
        var idx = parseInt(b.getAttribute("data-i") || "-1", 10);
        if (kind === "g") { groupBoxes[b.getAttribute("data-g")] = b; }
        L.DomEvent.on(b, "change", function () {
          var on = b.checked;
          if (kind === "v") { setVerdict(idx, on); }
          else if (kind === "c") { constraints[idx].on = on; setOn(constraints[idx].layer, on); }
          else if (kind === "g") {
            var g = b.getAttribute("data-g");
            constraints.forEach(function (c, ci) {
              if (c.info.group === g) {
                c.on = on; setOn(c.layer, on);
                var cb = panel.querySelector('input[data-gp="c"][data-i="' + ci + '"]');
                if (cb) { cb.checked = on; }
              }
            });
          }
          else if (kind === "ev") { vis.evidence = on; setOn(halos, on); setOn(evidence, on); }
          else if (kind === "fp") { vis.footprints = on; applyZoom(); }
          syncGroups();
          restack();
        });
      });
      syncGroups();
    }

    // ---------------------------------------------------------------- view: the batch, clear of the panel
    if (data.bounds) {
      var right = 24;
      if (panel && !L.DomUtil.hasClass(panel, "gp-collapsed")) { right += panel.offsetWidth; }
      map.fitBounds(data.bounds, { animate: false, paddingTopLeft: [24, 24],
                                   paddingBottomRight: [right, 24], maxZoom: 17 });
    }

    constraints.forEach(function (c) { setOn(c.layer, c.on); });
    applyZoom();
    for (var k = lineLayers.length - 1; k >= 0; k--) { setOn(lineLayers[k], true); }
    setOn(evidence, vis.evidence);
    updateHalos();
    setOn(halos, vis.evidence);
    map.addLayer(pointSites);

    map.on("zoomend", function () {
      var had = !!footprints && map.hasLayer(footprints);
      applyZoom();
      updateHalos();
      if (had !== (!!footprints && map.hasLayer(footprints))) { restack(); }
    });

    L.control.scale({ imperial: false, maxWidth: 160, position: "bottomleft" }).addTo(map);
    window.geoplanUtil.keepTooltipsInside(map);   // geoplan-leaflet.js
    state.basemapFailed = false;
    window.geoplanUtil.watchTiles(map, function (failed) {
      state.basemapFailed = failed;
      var note = panel && panel.querySelector(".gp-tilenote");
      if (note) { note.hidden = !failed; }
    });

    // ---------------------------------------------------------------- hooks for tests and benchmarks
    state.lineLayers = lineLayers;
    state.pointSites = pointSites;
    state.constraints = constraints;
    state.evidence = evidence;
    state.halos = halos;
    // Draw only the evidence (shapes and halos) whose properties pass `keep`; null: all.
    state.filterEvidence = function (keep) {
      evidenceOnly = keep;
      evidence.eachLayer(function (l) {
        if (!keep || keep(l.feature.properties)) { evidence.resetStyle(l); }
        else { l.setStyle({ opacity: 0, fillOpacity: 0 }); }
      });
      updateHalos(true);
    };
    // Sites on the map (visible verdicts), whatever the view.
    state.siteCount = function () {
      var n = 0;
      points.forEach(function (s) { if (vis.verdicts[s.p.v]) { n += 1; } });
      lineLayers.forEach(function (g) { if (map.hasLayer(g)) { n += g.getLayers().length; } });
      return n;
    };
    // Sites the two canvases hold, and those they drew in the current view.
    state.drawnSites = function () {
      var r = map.getRenderer(lineLayers[0]), held = 0, inView = 0;
      Object.keys(r._layers).forEach(function (id) {
        var l = r._layers[id];
        if (l.options.gpSite) {
          held += 1;
          if (l._parts && l._parts.length > 0) { inView += 1; }
        }
      });
      points.forEach(function (s) { if (vis.verdicts[s.p.v]) { held += 1; } });
      return { onRenderer: held, inView: inView + pointSites.drawn };
    };
    // The site whose escaped id is `id`: {kind, p, ll}.
    state.findSite = function (id) {
      for (var row in byRow) { if (byRow[row].p.i === id) { return byRow[row]; } }
      return null;
    };
    // Centre the map on the site of verdict row `row` and open its popup.
    state.showSite = function (row) {
      var site = byRow[row];
      if (!site) { return false; }
      if (!vis.verdicts[site.p.v]) { setVerdict(site.p.v, true); restack(); }
      map.setView(site.ll, Math.max(map.getZoom(), 17), { animate: false });
      openSitePopup(site);
      return true;
    };
    state.buildMs = performance.now() - t0;
    L.Util.requestAnimFrame(function () {
      L.Util.requestAnimFrame(function () {
        state.readyMs = performance.now();
        state.ready = true;
      });
    });
    return state;
  };
})();
