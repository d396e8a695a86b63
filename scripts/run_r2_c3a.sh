#!/usr/bin/env bash
# Round 2's C3a (docs/experiments_plan.md, "C3a (new): relatedness", as priced and cut before any run): separate,
# shared and grouped networks at data.relatedness 0 and 1, through mtlkit-advise (equal steps and equal compute),
# 3 seeds. Each part runs the two relatedness values side by side, one thread each (about 65 minutes on 2 cores).
#
#   bash scripts/run_r2_c3a.sh 1     # 1,000 training images (59 epochs = 472 steps)
#   bash scripts/run_r2_c3a.sh 2     # 10,000 training images (6 epochs = 474 steps)
#   SMOKE=1 MTLKIT_LOG_DIR=/tmp/x DOCS_DIR=/tmp/x bash scripts/run_r2_c3a.sh 1   # a check of the script (tiny runs)
#
# Runs go to $MTLKIT_LOG_DIR/experiments/r2_c3a/n<size>_r<relatedness>; verdicts, heatmaps, reports and wall times
# are copied to docs/experiments/r2_c3a/n<size>_r<relatedness>/. The shared arm's paired difference of Δm between
# relatedness 1 and 0 is computed from the two verdict.json files (delta_by_seed).
set -euo pipefail
cd "$(dirname "$0")/.."
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
DOCS_ROOT=${DOCS_DIR:-docs/experiments}/r2_c3a

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
  echo "$name: wall time $(( $(date +%s) - start )) s on $(nproc --all) cores, two calls side by side," \
    "OMP_NUM_THREADS=$OMP_NUM_THREADS ($(date -u +%F))" | tee "$docs/wall_time.txt"
}

mkdir -p "$LOG"
one 0 & first=$!
one 1 & second=$!
wait "$first"; wait "$second"
"$PY" - "$DOCS_ROOT/n${size}_r0/verdict.json" "$DOCS_ROOT/n${size}_r1/verdict.json" <<'PYEOF' \
  | tee "$DOCS_ROOT/n${size}_difference.md"
"""Paired by seed: the shared arms' Δm at relatedness 1 minus at relatedness 0 (the C3a reading)."""
import json
import sys

from mtlkit.report.paired import paired

r0, r1 = (json.load(open(p)) for p in sys.argv[1:3])
arms0 = {a["name"]: a for a in r0["arms"]}
print("| arm | Δm at r=0 (%) | Δm at r=1 (%) | r=1 minus r=0, paired (95 % CI) | by the rule (0.5 % floor) | n |")
print("|---|---|---|---|---|---|")
for arm in r1["arms"]:
    other = arms0.get(arm["name"])
    if other is None:
        continue
    a, b = other.get("delta_by_seed", {}), arm.get("delta_by_seed", {})
    d = paired([b[s] - a[s] for s in b if s in a and a[s] is not None and b[s] is not None])
    print(f"| {arm['name']} | {other['delta']['mean']:+.2f} | {arm['delta']['mean']:+.2f} | "
          f"{d.mean:+.2f} [{d.low:+.2f}, {d.high:+.2f}] | {d.verdict_at(0.5)} | {d.n} |")
PYEOF
