/* The map pages, with the vendored Leaflet (no inline scripts: the CSP forbids them). The data
   comes as JSON in <script type="application/json" id="map-data">:
   - the map page: {points: [{id, lat, lon, name, category, url}], keys, colours, tiles, ...};
   - a submission: {household: [lat, lon] | null, photos: [{name, lat, lon, metres}], tiles, ...}. */
"use strict";
(() => {
  const holder = document.getElementById("map");
  const source = document.getElementById("map-data");
  if (!holder || !source || !window.L) return;
  const data = JSON.parse(source.textContent);
  const map = L.map(holder, { scrollWheelZoom: false });
  L.tileLayer(data.tiles, { maxZoom: 19, attribution: data.attribution }).addTo(map);
  const bounds = [];
  const text = (value) => {
    const span = document.createElement("span");
    span.textContent = value;
    return span;
  };

  if (data.points) {
    const colour = Object.fromEntries(data.keys.map((key, i) => [key, data.colours[i]]));
    const group = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40 });
    for (const p of data.points) {
      const marker = L.circleMarker([p.lat, p.lon], {
        radius: 7, weight: 1, color: "#1d2329", fillColor: colour[p.category] || "#7a828a", fillOpacity: 0.9,
      });
      const link = document.createElement("a");
      link.href = p.url;
      link.textContent = p.name;
      marker.bindPopup(link);
      marker.options.khudanId = p.id;
      group.addLayer(marker);
      bounds.push([p.lat, p.lon]);
    }
    map.addLayer(group);
    holder.dataset.points = String(data.points.length);
  } else {
    if (data.household) {
      L.circleMarker(data.household, { radius: 8, color: "#0b5d7a", fillColor: "#0b5d7a", fillOpacity: 0.9 })
        .bindTooltip(text(holder.dataset.householdLabel || "")).addTo(map);
      bounds.push(data.household);
    }
    for (const photo of data.photos || []) {
      const at = [photo.lat, photo.lon];
      L.circleMarker(at, { radius: 6, color: "#b3261e", fillColor: "#b3261e", fillOpacity: 0.9 })
        .bindTooltip(text(photo.label)).addTo(map);
      if (data.household) L.polyline([data.household, at], { color: "#b3261e", weight: 2, dashArray: "4 4" }).addTo(map);
      bounds.push(at);
    }
    holder.dataset.points = String(bounds.length);
  }
  if (bounds.length === 1) map.setView(bounds[0], 16);
  else if (bounds.length) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17 });
  else map.setView([14.06, 108.28], 6); // Việt Nam
})();
