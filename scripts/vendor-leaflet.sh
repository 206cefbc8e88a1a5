#!/usr/bin/env bash
# Vendor Leaflet and leaflet.markercluster into server/web/static/leaflet/, so that the map pages
# load nothing from a CDN and `pip install` needs no Node. Reproducible: `npm ci` from the committed
# leaflet/package-lock.json, then a plain copy of the published files.
#   bash scripts/vendor-leaflet.sh           # refresh the vendored files
#   bash scripts/vendor-leaflet.sh --check   # fail if they differ from what the lockfile gives (CI)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=server/web/static/leaflet
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cp leaflet/package.json leaflet/package-lock.json "$WORK/"
(cd "$WORK" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
mkdir -p "$WORK/out/images"
cp "$WORK"/node_modules/leaflet/dist/leaflet.js "$WORK"/node_modules/leaflet/dist/leaflet.css "$WORK/out/"
cp "$WORK"/node_modules/leaflet/dist/images/*.png "$WORK/out/images/"
for f in leaflet.markercluster.js MarkerCluster.css MarkerCluster.Default.css; do
    cp "$WORK/node_modules/leaflet.markercluster/dist/$f" "$WORK/out/"
done
chmod 644 "$WORK"/out/*.js "$WORK"/out/*.css "$WORK"/out/images/*.png
# The published files name their source maps, which are not vendored.
sed -i '/sourceMappingURL/d' "$WORK/out/leaflet.js" "$WORK/out/leaflet.markercluster.js"
{
    echo "Vendored by scripts/vendor-leaflet.sh from leaflet/package-lock.json; do not edit."
    for p in leaflet leaflet.markercluster; do
        node -e "const p=require('$WORK/node_modules/$p/package.json');console.log(p.name+' '+p.version+' ('+p.license+')')"
    done
} > "$WORK/out/VENDORED.txt"

if [[ ${1:-} == --check ]]; then
    if ! diff -r "$WORK/out" "$OUT" >/dev/null; then
        echo "server/web/static/leaflet differs from what leaflet/package-lock.json gives:" >&2
        echo "run: bash scripts/vendor-leaflet.sh" >&2
        exit 1
    fi
    echo "vendored Leaflet matches leaflet/package-lock.json"
else
    rm -rf "$OUT"
    cp -r "$WORK/out" "$OUT"
    echo "vendored into $OUT:"
    ls -l "$OUT"
fi
