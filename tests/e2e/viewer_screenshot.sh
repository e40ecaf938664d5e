#!/usr/bin/env bash
# The interactive viewer under a virtual X server: `darkmatter play FILE.h5` opens a window
# that shows the scene, captions and chart (a screenshot of the root window has many
# colours, not a blank screen) and answers play/pause and step keys.
# Set SCREENSHOT_OUT=path.png to keep the screenshot.
set -euo pipefail
darkmatter=$1
for tool in Xvfb xdotool xwd ffmpeg python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/debian-packages.txt)" >&2; exit 1; }
done
dir=$(mktemp -d)
xvfb_pid=""
viewer_pid=""
cleanup() {
  [[ -n $viewer_pid ]] && kill "$viewer_pid" 2>/dev/null && wait "$viewer_pid" 2>/dev/null || true
  [[ -n $xvfb_pid ]] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

"$darkmatter" rollout --mjcf /usr/share/mujoco/model/humanoid/humanoid.xml --max-steps 200 \
  --episodes 2 --seed 1 --out "$dir/eps.h5" >/dev/null

# A free display number derived from our pid (Xvfb refuses one that is taken: try a few).
display=""
for offset in 0 1 2 3 4 5 6 7 8 9; do
  n=$(( 100 + ($$ + offset) % 800 ))
  [[ -e /tmp/.X$n-lock || -e /tmp/.X11-unix/X$n ]] && continue
  Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >"$dir/xvfb.log" 2>&1 &
  xvfb_pid=$!
  for _ in $(seq 50); do
    if DISPLAY=":$n" xdotool getdisplaygeometry >/dev/null 2>&1; then display=":$n"; break; fi
    kill -0 "$xvfb_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $display ]] && break
  kill "$xvfb_pid" 2>/dev/null || true
  wait "$xvfb_pid" 2>/dev/null || true
  xvfb_pid=""
done
[[ -n $display ]] || { echo "could not start Xvfb" >&2; cat "$dir/xvfb.log" >&2; exit 1; }
export DISPLAY=$display

"$darkmatter" play "$dir/eps.h5" --exit-after 60 >"$dir/viewer.log" 2>&1 &
viewer_pid=$!
window=""
for _ in $(seq 150); do
  window=$(xdotool search --onlyvisible --name "darkmatter play" 2>/dev/null | head -n1 || true)
  [[ -n $window ]] && break
  kill -0 "$viewer_pid" 2>/dev/null || { echo "viewer exited early:" >&2; cat "$dir/viewer.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $window ]] || { echo "viewer window never appeared" >&2; cat "$dir/viewer.log" >&2; exit 1; }
sleep 2  # let it draw a few frames

xwd -root -silent >"$dir/shot.xwd"
ffmpeg -v error -y -i "$dir/shot.xwd" "$dir/shot.png"
[[ -z ${SCREENSHOT_OUT:-} ]] || cp "$dir/shot.png" "$SCREENSHOT_OUT"
kill -0 "$viewer_pid" 2>/dev/null || { echo "viewer died:" >&2; cat "$dir/viewer.log" >&2; exit 1; }

# Not blank: many distinct colours, the first caption's exact colour (255,160,40) and the
# strip chart's background (26,26,32), both drawn from the CPU-composed canvas.
ffmpeg -v error -i "$dir/shot.xwd" -f rawvideo -pix_fmt rgb24 "$dir/shot.rgb"
python3 - "$dir/shot.rgb" <<'PY'
import collections, sys
data = open(sys.argv[1], "rb").read()
counts = collections.Counter(data[i:i + 3] for i in range(0, len(data), 3))
caption, chart = counts[bytes((255, 160, 40))], counts[bytes((26, 26, 32))]
print(f"screenshot: {len(counts)} colours, {caption} caption pixels, {chart} chart pixels")
if len(counts) < 50 or caption < 50 or chart < 1000:
    sys.exit("the viewer's screenshot lacks the scene, the captions or the chart")
PY
# Keys reach the viewer: while playing the screen changes, after space (pause) it holds
# still, and the right arrow steps one frame forward.
xdotool windowfocus --sync "$window" 2>/dev/null || true
shot() { xwd -root -silent >"$dir/$1.xwd"; }
shot a; sleep 0.5; shot b
cmp -s "$dir/a.xwd" "$dir/b.xwd" && { echo "the viewer is not playing" >&2; exit 1; }
xdotool key space; sleep 0.5
# On a loaded machine the key and the last frame can take a while to arrive: paused means two
# shots half a second apart agree within 10 tries (a playing viewer never holds still).
paused=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
  shot c; sleep 0.5; shot d
  if cmp -s "$dir/c.xwd" "$dir/d.xwd"; then paused=1; break; fi
done
[ "$paused" = 1 ] || { echo "space did not pause the viewer" >&2; exit 1; }
xdotool key Right; sleep 0.5
shot e
cmp -s "$dir/d.xwd" "$dir/e.xwd" && { echo "the right arrow did not step" >&2; exit 1; }
echo "viewer screenshot ok; play, pause and step respond"
