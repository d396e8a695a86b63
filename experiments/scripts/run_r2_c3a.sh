#!/usr/bin/env bash
# Round 2's C3a (experiments/plan.md, "C3a (new): relatedness", as priced and cut before any run): separate,
# shared and grouped networks at data.relatedness 0 and 1, through mtlkit-advise (equal steps and equal compute),
# 3 seeds. Each part runs the two relatedness values side by side, one thread each (about 65 minutes on 2 cores).
#
#   bash experiments/scripts/run_r2_c3a.sh 1     # 1,000 training images (59 epochs = 472 steps)
#   bash experiments/scripts/run_r2_c3a.sh 2     # 10,000 training images (6 epochs = 474 steps)
#   SMOKE=1 MTLKIT_LOG_DIR=/tmp/x DOCS_DIR=/tmp/x bash experiments/scripts/run_r2_c3a.sh 1   # a check of the script (tiny runs)
#
# Runs go to $MTLKIT_LOG_DIR/experiments/r2_c3a/n<size>_r<relatedness>; verdicts, heatmaps, reports and wall times
# are copied to experiments/results/r2_c3a/n<size>_r<relatedness>/ (verdict.png redrawn with the 0.5 % floor). The shared
# arms' paired difference of Δm between relatedness 1 and 0 is computed from the two verdict.json files
# (delta_by_seed) by experiments/scripts/r2_c3a_difference.py: n<size>_difference.md, and difference.md/.png over the sizes done.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WANDB_MODE=${WANDB_MODE:-offline}
PY=${PYTHON:-python}
part=${1:?give the part: 1 or 2}
case "$part" in
  1) size=1000 epochs=59 ;;
  2) size=10000 epochs=6 ;;
  *) echo "unknown part $part: give 1 or 2" >&2; exit 2 ;;
esac
seeds=3 val=1000 test=2000
if [ -n "${SMOKE:-}" ]; then seeds=2 epochs=1 size=256 val=128 test=128; fi
LOG=${MTLKIT_LOG_DIR:-outputs}/experiments/r2_c3a
DOCS_ROOT=${DOCS_DIR:-experiments/results}/r2_c3a

one() {  # relatedness
  local name="n${size}_r$1" start
  start=$(date +%s)
  "$PY" -m mtlkit.cli.advise --seeds "$seeds" --epochs "$epochs" --budget both --balancing none --out "$LOG/$name" \
    "data.relatedness=$1" data.num_classes=8 data.grid=2 "data.num_train=$size" "data.num_val=$val" \
    "data.num_test=$test" data.seed=0 callbacks.early_stopping=null callbacks.rich_progress_bar=null \
    > "$LOG/$name.log" 2>&1
  local docs="$DOCS_ROOT/$name"
  mkdir -p "$docs"
  cp "$LOG/$name/verdict.md" "$LOG/$name/verdict.json" "$LOG/$name/advise.json" "$docs/"
  cp "$LOG/$name/affinity/affinity.csv" "$LOG/$name/affinity/affinity.png" "$docs/" 2>/dev/null || true
  rm -rf "$docs/report" && cp -r "$LOG/$name/report" "$docs/report"
  "$PY" -m mtlkit.advise.plot "$docs/verdict.json" --floor 0.5 --out "$docs/verdict.png" \
    --title "C3a: 8 families, $size images, relatedness $1 ($seeds seeds)"
  echo "$name: wall time $(( $(date +%s) - start )) s on $(nproc --all) cores, two calls side by side," \
    "OMP_NUM_THREADS=$OMP_NUM_THREADS ($(date -u +%F))" | tee "$docs/wall_time.txt"
}

mkdir -p "$LOG"
one 0 & first=$!
one 1 & second=$!
wait "$first"; wait "$second"
"$PY" experiments/scripts/r2_c3a_difference.py "$DOCS_ROOT" --size "$size" | tee "$DOCS_ROOT/n${size}_difference.md"
# every size with both relatedness values so far: the table and plot of results.md's C3a section
"$PY" experiments/scripts/r2_c3a_difference.py "$DOCS_ROOT" --plot "$DOCS_ROOT/difference.png" > "$DOCS_ROOT/difference.md"
