#!/usr/bin/env bash
# C2 with balancing methods, a first look (experiments/plan.md, "C2 with balancing methods"): C2's setup (1,000
# training images) with
# approach=multitask and weighting=ew,famo,upgrad, weighting=static (pedestrian x4), and approach=separate as the
# baseline; then mtlkit-report into experiments/results/c2_balancing/.
#
#   bash experiments/scripts/run_balancing_first_look.sh            # 15 jobs, then the report
#   REPORT_ONLY=1 bash experiments/scripts/run_balancing_first_look.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export WANDB_MODE=${WANDB_MODE:-offline}
PY=${PYTHON:-python}
ROOT=${MTLKIT_LOG_DIR:-outputs}/experiments/c2_balancing
OUT=${DOCS_DIR:-experiments/results}/c2_balancing
C2=(-m experiment=c2_mtl_vs_separate data.num_train=1000)   # C2 at its 1,000-image size

if [ -z "${REPORT_ONLY:-}" ]; then
  start=$(date +%s)
  "$PY" -m mtlkit.cli.train "${C2[@]}" approach=separate "hydra.sweep.dir=$ROOT/separate" || true
  "$PY" -m mtlkit.cli.train "${C2[@]}" approach=multitask weighting=ew,famo,upgrad "hydra.sweep.dir=$ROOT/methods" || true
  "$PY" -m mtlkit.cli.train "${C2[@]}" approach=multitask weighting=static "weighting.weights={pedestrian: 4}" \
    "hydra.sweep.dir=$ROOT/static" || true
  echo "wall time: $(( $(date +%s) - start )) s"
fi
"$PY" -m mtlkit.cli.report "$ROOT/separate" "$ROOT/methods" "$ROOT/static" --out "$OUT" \
  --baseline approach=separate --ignore experiment weighting weighting.weights
