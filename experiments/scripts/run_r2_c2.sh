#!/usr/bin/env bash
# Round 2's C2 (experiments/plan.md, "C2 again", as priced and cut before any run): MTL against separate
# networks at equal steps AND equal training compute, through mtlkit-advise, in three parts that each fit in about
# 90 minutes on one core of the 2-core development machine. Parts 1 and 2 can run side by side (one thread each).
#
#   bash experiments/scripts/run_r2_c2.sh 1     # x1 budget (38 epochs = 304 steps), 1,000 images, 5 seeds, famo + task_mean
#   bash experiments/scripts/run_r2_c2.sh 2     # x1 budget (8 epochs = 320 steps), 5,000 images, 5 seeds, famo + task_mean
#   bash experiments/scripts/run_r2_c2.sh 3     # x4 budget (152 epochs), 1,000 images, 3 seeds, no balancing arms
#   SMOKE=1 MTLKIT_LOG_DIR=/tmp/x DOCS_DIR=/tmp/x bash experiments/scripts/run_r2_c2.sh 1   # a check of the script (tiny runs)
#
# Runs go to $MTLKIT_LOG_DIR/experiments/r2_c2/partN (default outputs/); the verdict, the affinity heatmap, the
# report of the runs and the wall time are copied to experiments/results/r2_c2/partN/. Re-running a part reuses its
# finished runs (mtlkit-advise skips them).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WANDB_MODE=${WANDB_MODE:-offline}
PY=${PYTHON:-python}
part=${1:?give the part: 1, 2 or 3}
case "$part" in
  1) args=(--seeds 5 --epochs 38 --balancing famo,task_mean) size=1000 ;;
  2) args=(--seeds 5 --epochs 8 --balancing famo,task_mean) size=5000 ;;
  3) args=(--seeds 3 --epochs 152 --balancing none) size=1000 ;;
  *) echo "unknown part $part: give 1, 2 or 3" >&2; exit 2 ;;
esac
OUT=${MTLKIT_LOG_DIR:-outputs}/experiments/r2_c2/part$part
DOCS=${DOCS_DIR:-experiments/results}/r2_c2/part$part
data=("data.num_train=$size" data.num_val=1000 data.num_test=2000)
if [ -n "${SMOKE:-}" ]; then  # a check of this script only: tiny, 2 seeds, 1 epoch (results mean nothing)
  args=(--seeds 2 --epochs 1 "${args[@]:4}") data=(data.num_train=256 data.num_val=128 data.num_test=128)
fi
start=$(date +%s)
"$PY" -m mtlkit.cli.advise "${args[@]}" --budget both --out "$OUT" \
  "${data[@]}" data.seed=0 \
  callbacks.early_stopping=null callbacks.rich_progress_bar=null
wall=$(( $(date +%s) - start ))
mkdir -p "$DOCS"
DOCS=$(cd "$DOCS" && pwd)
cp "$OUT/verdict.md" "$OUT/verdict.json" "$OUT/advise.json" "$DOCS/"
cp "$OUT/affinity/affinity.csv" "$OUT/affinity/affinity.png" "$DOCS/" 2>/dev/null || true
if [ -d "$OUT/report" ]; then
  rm -rf "$DOCS/report" && mkdir -p "$DOCS/report"
  (cd "$OUT/report" && find . -maxdepth 2 \( -name '*.md' -o -name '*.csv' -o -name '*.png' \) \
    -exec cp --parents {} "$DOCS/report/" \;)
fi
echo "part $part: wall time $wall s on $(nproc --all) cores, OMP_NUM_THREADS=$OMP_NUM_THREADS ($(date -u +%F))" \
  | tee "$DOCS/wall_time.txt"
