#!/usr/bin/env bash
# `darkmatter report` on the results fixture, in a suite folder with real (tiny) MP4s, opened
# from file:// in headless Chromium: no console or page error, no network request, every chart
# drawn as a non-trivial <svg>, every video's metadata loaded; CSV files written; bad input
# exits 2 naming the file. Saves a screenshot of the first screen (and SCREENSHOT-full.png).
# usage: report_in_chromium.sh DARKMATTER_BIN FIXTURE.json [SCREENSHOT.png]
set -euo pipefail
darkmatter=$1
fixture=$2
screenshot=${3:-}
root=$(cd "$(dirname "$0")/../.." && pwd)
for tool in node ffmpeg; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Node.js: see README; ffmpeg: scripts/debian-packages.txt)" >&2; exit 1; }
done
chromium=${CHROMIUM:-/usr/bin/chromium}
[[ -x $chromium ]] || { echo "missing $chromium (scripts/debian-packages.txt: chromium)" >&2; exit 1; }
[[ -d $root/report/node_modules/playwright-core ]] ||
  { echo "missing report/node_modules: run scripts/test or 'npm ci --prefix report'" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# A suite folder as `darkmatter suite` leaves it: results.json next to videos/.
suite="$dir/suite"
mkdir -p "$suite/videos"
cp "$fixture" "$suite/results.json"
python3 - "$suite/results.json" > "$dir/videos.txt" <<'PY'
import json, sys
for v in json.load(open(sys.argv[1]))["videos"]:
    print(v["path"], v["kind"])
PY
while read -r path kind; do
  case $kind in
    best) src="testsrc2=size=320x240:rate=15" ;;
    worst) src="smptebars=size=320x240:rate=15" ;;
    *) src="mandelbrot=size=320x240:rate=15" ;;
  esac
  ffmpeg -nostdin -v error -y -f lavfi -i "$src" -t 1 -c:v libx264 -pix_fmt yuv420p \
    -movflags +faststart "$suite/$path"
done < "$dir/videos.txt"

"$darkmatter" report "$suite/results.json" --csv "$suite/csv"
[[ -s $suite/report.html && -s $suite/csv/cells.csv && -s $suite/csv/aggregates.csv ]] ||
  { echo "report or CSV files missing" >&2; exit 1; }
ls "$suite" | grep -q '\.tmp-' && { echo "temporary files left behind" >&2; exit 1; }

shot=${screenshot:-$dir/report-screenshot.png}
node "$root/report/check_report.mjs" "$suite/report.html" "$shot"

# Bad input: exit 2, the file (and the key) named, the existing report untouched.
before=$(sha256sum "$suite/report.html")
status=0
"$darkmatter" report "$dir/absent.json" 2>"$dir/err1" || status=$?
[[ $status -eq 2 ]] && grep -q "absent.json" "$dir/err1" ||
  { echo "missing file: exit $status, $(cat "$dir/err1")" >&2; exit 1; }
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); del r["aggregates"]; json.dump(r, open(sys.argv[2], "w"))' \
  "$suite/results.json" "$dir/broken.json"
status=0
"$darkmatter" report "$dir/broken.json" --out "$suite/report.html" 2>"$dir/err2" || status=$?
[[ $status -eq 2 ]] && grep -q "broken.json" "$dir/err2" && grep -q "aggregates" "$dir/err2" ||
  { echo "missing key: exit $status, $(cat "$dir/err2")" >&2; exit 1; }
[[ $(sha256sum "$suite/report.html") == "$before" ]] || { echo "bad input changed the report" >&2; exit 1; }
echo "report in chromium ok"
