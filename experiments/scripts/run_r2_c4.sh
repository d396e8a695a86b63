#!/usr/bin/env bash
# Round 2's C4 (experiments/plan.md, "C4 redone so that it tests claim 3b", details recorded before any run):
# 24 related task families, focus tasks fam020..fam023 with 1,000 training labels each, the 20 others with 0, 1,000
# or 10,000; one shared network against each focus task's own network, at equal steps (500) and equal compute
# (2,000 = 4 focus networks x 500), 3 seeds. About 80 minutes on one thread.
#
#   bash experiments/scripts/run_r2_c4.sh              # every arm, then both reports into experiments/results/r2_c4/
#   REPORT_ONLY=1 bash experiments/scripts/run_r2_c4.sh
#   FOLLOWUP=1 bash experiments/scripts/run_r2_c4.sh   # the exploratory follow-up decided after the results: weighting=task_mean
#   SMOKE=1 MTLKIT_LOG_DIR=/tmp/x DOCS_DIR=/tmp/x bash experiments/scripts/run_r2_c4.sh   # a check of the script (tiny runs)
#
# The baseline is approach=grouped with each focus task alone in its group (a network of its own, as approach=separate
# trains it) and the 20 other tasks in a fifth group: the focus networks then see exactly the images and hidden labels
# of the shared arm at the same seed. (approach=separate with data.tasks=[the focus tasks] would hide other focus
# labels: the hiding draws its random numbers over the tasks selected.)
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WANDB_MODE=${WANDB_MODE:-offline}
PY=${PYTHON:-python}
ROOT=${MTLKIT_LOG_DIR:-outputs}/experiments/r2_c4
OUT=${DOCS_DIR:-experiments/results}/r2_c4
FOCUS=(fam020 fam021 fam022 fam023)
OTHERS=$(printf 'fam%03d,' $(seq 0 19)); OTHERS=${OTHERS%,}
GROUPS_=$(printf '[%s],' "${FOCUS[@]}")"[$OTHERS]"
SEEDS=0,1,2 STEPS=500 COMPUTE=2000
BASE=(-m experiment=r2_c4/base)
if [ -n "${SMOKE:-}" ]; then
  SEEDS=0,1 STEPS=4 COMPUTE=8
  BASE+=(data.num_train=512 data.num_val=128 data.num_test=128 trainer.val_check_interval=2)
fi
BASE+=("trainer.max_steps=$STEPS" "seed=$SEEDS")
train() {  # name, overrides...
  local name=$1; shift
  "$PY" -m mtlkit.cli.train "${BASE[@]}" "$@" "hydra.sweep.dir=$ROOT/$name" || true
}

if [ -n "${FOLLOWUP:-}" ]; then  # per-task normalisation (results.md, C4 round 2), then its report
  start=$(date +%s)
  train followup_task_mean approach=multitask c4_other_labels=0,1000,10000 weighting=task_mean
  echo "follow-up: wall time $(( $(date +%s) - start )) s" | tee "$OUT/wall_time_followup.txt"
  "$PY" -m mtlkit.cli.report "$ROOT/followup_task_mean" "$ROOT/baseline" --baseline approach=grouped \
    --tasks "${FOCUS[@]}" --ignore c4_other_labels approach.groups weighting --out "$OUT/followup_task_mean"
  exit 0
fi
if [ -z "${REPORT_ONLY:-}" ]; then
  start=$(date +%s)
  train baseline approach=grouped "approach.groups=[$GROUPS_]" c4_other_labels=10000
  train shared approach=multitask c4_other_labels=0,1000,10000
  train options_labels approach=multitask c4_other_labels=10000 loss.normalization=labels loss.pos_weight=null,auto
  train options_auto approach=multitask c4_other_labels=10000 loss.normalization=examples loss.pos_weight=auto
  train compute approach=multitask c4_other_labels=0,1000,10000 "trainer.max_steps=$COMPUTE"
  mkdir -p "$OUT"
  echo "wall time: $(( $(date +%s) - start )) s on $(nproc --all) cores, OMP_NUM_THREADS=$OMP_NUM_THREADS ($(date -u +%F))" \
    | tee "$OUT/wall_time.txt"
fi
COMMON=(--baseline approach=grouped --tasks "${FOCUS[@]}")
"$PY" -m mtlkit.cli.report "$ROOT/shared" "$ROOT/options_labels" "$ROOT/options_auto" "$ROOT/baseline" \
  "${COMMON[@]}" --ignore c4_other_labels approach.groups loss.normalization loss.pos_weight --out "$OUT/equal_steps"
"$PY" -m mtlkit.cli.report "$ROOT/compute" "$ROOT/baseline" \
  "${COMMON[@]}" --ignore c4_other_labels approach.groups trainer.max_steps --out "$OUT/equal_compute"
