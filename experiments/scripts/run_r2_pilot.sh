#!/usr/bin/env bash
# Round 2's balancing-method pilot (experiments/plan.md, "Round 2", rules): C2's setup at 1,000 images, equal
# steps (300), seeds 10-12 and data.seed=100 (data and seeds no claim uses); approach=multitask with
# weighting=ew,famo,upgrad,task_mean and weighting=static (pedestrian x4). The two methods with the highest mean
# paired Δm against ew join round 2's C2-C4. Report (baseline weighting=ew) into experiments/results/r2_pilot/.
#
#   bash experiments/scripts/run_r2_pilot.sh            # 15 jobs, then the report
#   REPORT_ONLY=1 bash experiments/scripts/run_r2_pilot.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export WANDB_MODE=${WANDB_MODE:-offline}
PY=${PYTHON:-python}
ROOT=${MTLKIT_LOG_DIR:-outputs}/experiments/r2_pilot
OUT=${DOCS_DIR:-experiments/results}/r2_pilot
PILOT=(-m experiment=c2_mtl_vs_separate data.num_train=1000 approach=multitask data.seed=100 seed=10,11,12)

if [ -z "${REPORT_ONLY:-}" ]; then
  start=$(date +%s)
  "$PY" -m mtlkit.cli.train "${PILOT[@]}" weighting=ew,famo,upgrad,task_mean "hydra.sweep.dir=$ROOT/methods" || true
  "$PY" -m mtlkit.cli.train "${PILOT[@]}" weighting=static "weighting.weights={pedestrian: 4}" \
    "hydra.sweep.dir=$ROOT/static" || true
  echo "wall time: $(( $(date +%s) - start )) s"
fi
"$PY" -m mtlkit.cli.report "$ROOT/methods" "$ROOT/static" --out "$OUT" --baseline weighting=ew \
  --ignore experiment weighting.weights
