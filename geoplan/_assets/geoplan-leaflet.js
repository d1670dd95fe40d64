/* geoplan: helpers shared by every geoplan map (a check's map and the analyses' maps).
 *
 * window.geoplanUtil:
 *   keepTooltipsInside(map)       hover tooltips never stick out of the map
 *   watchTiles(map, report)       report(true) when the basemap's tiles cannot be loaded
 *   control(map, id, position)    the element #id becomes a control (legend, title) in a corner
 *   followLayers(map, el, layers) a block [data-gp-layer=k] shows while layers[k] is on the map
 *   exclusive(map, layers)        switching one of these overlays on switches the others off
 *
 * Written for Leaflet 1.9.4, which geoplan inlines in every page.
 */
(function () {
  "use strict";
  var U = window.geoplanUtil = window.geoplanUtil || {};

  // Move a tooltip back inside the map by the part that would stick out (the container is
  // placed in layer coordinates by Leaflet's Tooltip._setPosition).
  function inside(t) {
    var map = t._map, c = t._container;
    if (!map || !c) { return; }
    var pos = L.DomUtil.getPosition(c), size = map.getSize(), m = 8;
    var tl = map.containerPointToLayerPoint([0, 0]);
    var x = Math.min(pos.x, tl.x + size.x - c.offsetWidth - m);
    var y = Math.min(pos.y, tl.y + size.y - c.offsetHeight - m);
    x = Math.max(x, tl.x + m);
    y = Math.max(y, tl.y + m);
    if (x !== pos.x || y !== pos.y) { L.DomUtil.setPosition(c, L.point(x, y)); }
  }

  // Hover tooltips (not the permanent labels) are kept inside the map wherever the mouse is.
  U.keepTooltipsInside = function (map) {
    map.on("tooltipopen", function (e) {
      var t = e.tooltip;
      if (t.options.permanent) { return; }
      if (!t._gpInside) {
        t._gpInside = true;
        var place = t._setPosition;
        t._setPosition = function (pos) { place.call(this, pos); inside(this); };
      }
      inside(t);
    });
  };

  // report(true) once tiles failed and none loaded (no network, the tile server cannot be
  // reached); report(false) when a tile loads after that.
  U.watchTiles = function (map, report) {
    var ok = 0, failed = false;
    function watch(l) {
      if (!(l instanceof L.TileLayer) || l._gpWatched) { return; }
      l._gpWatched = true;
      l.on("tileload", function () {
        ok += 1;
        if (failed) { failed = false; report(false); }
      });
      l.on("tileerror", function () {
        if (!ok && !failed) { failed = true; report(true); }
      });
    }
    map.eachLayer(watch);
    map.on("layeradd", function (e) { watch(e.layer); });
  };

  // The element #id (hidden until now) moved into a Leaflet control: controls stack in
  // their corner, so a legend never covers the scale bar or the attribution, and a title
  // never covers the layer control.
  U.control = function (map, id, position) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    var Box = L.Control.extend({
      options: { position: position || "bottomright" },
      onAdd: function () {
        el.style.display = "";
        L.DomEvent.disableClickPropagation(el);
        L.DomEvent.disableScrollPropagation(el);
        return el;
      }
    });
    new Box().addTo(map);
    return el;
  };

  // The blocks (children) of `el` marked data-gp-layer="k" show only while layers[k] is on
  // the map, the others always; `el` hides when every block is hidden.
  U.followLayers = function (map, el, layers) {
    if (!el) { return; }
    var pending = false;
    function sync() {
      pending = false;
      var blocks = el.children, shown = 0;
      for (var i = 0; i < blocks.length; i++) {
        var l = layers[blocks[i].getAttribute("data-gp-layer")];
        var on = !l || map.hasLayer(l);
        blocks[i].style.display = on ? "" : "none";
        if (on) { shown += 1; }
      }
      el.style.display = shown ? "" : "none";
    }
    map.on("layeradd layerremove", function () {
      if (!pending) { pending = true; L.Util.requestAnimFrame(sync); }
    });
    sync();
  };

  // One of `layers` on the map at a time: switching one on (in the layer control or by
  // code) switches the others off once the control has finished with the click, so its
  // check boxes follow.
  U.exclusive = function (map, layers) {
    map.on("overlayadd", function (e) {
      if (layers.indexOf(e.layer) < 0) { return; }
      setTimeout(function () {
        layers.forEach(function (l) {
          if (l !== e.layer && map.hasLayer(l)) { map.removeLayer(l); }
        });
      }, 0);
    });
  };
})();
