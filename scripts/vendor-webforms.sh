#!/usr/bin/env bash
# Vendor ODK Web Forms (@getodk/web-forms, the form engine ODK Central ships) and Vue into
# server/web/static/webforms/, so that `pip install` needs no Node. Reproducible: `npm ci` from the
# committed webforms/package-lock.json, then a plain copy of the published ES modules, with their one
# bare import ("vue") pointed at the vendored Vue file (pages load nothing from elsewhere).
#   bash scripts/vendor-webforms.sh           # refresh the vendored files
#   bash scripts/vendor-webforms.sh --check   # fail if they differ from what the lockfile gives (CI)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=server/web/static/webforms
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cp webforms/package.json webforms/package-lock.json "$WORK/"
(cd "$WORK" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
mkdir -p "$WORK/out"
for f in "$WORK"/node_modules/@getodk/web-forms/dist/*.js; do
    sed 's|from "vue"|from "./vue.runtime.esm-browser.prod.js"|g' "$f" > "$WORK/out/$(basename "$f")"
done
cp "$WORK/node_modules/vue/dist/vue.runtime.esm-browser.prod.js" "$WORK/out/"
{
    echo "Vendored by scripts/vendor-webforms.sh from webforms/package-lock.json; do not edit."
    for p in @getodk/web-forms vue; do
        node -e "const p=require('$WORK/node_modules/$p/package.json');console.log(p.name+' '+p.version+' ('+p.license+')')"
    done
} > "$WORK/out/VENDORED.txt"

if [[ ${1:-} == --check ]]; then
    if ! diff -r "$WORK/out" "$OUT" >/dev/null; then
        echo "server/web/static/webforms differs from what webforms/package-lock.json gives:" >&2
        echo "run: bash scripts/vendor-webforms.sh" >&2
        exit 1
    fi
    echo "vendored ODK Web Forms match webforms/package-lock.json"
else
    rm -rf "$OUT"
    cp -r "$WORK/out" "$OUT"
    echo "vendored into $OUT:"
    ls -l "$OUT"
fi
