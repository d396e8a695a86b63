#!/usr/bin/env bash
# Run the experiment suite (conf/experiment/c*.yaml, one multirun each), then mtlkit-report on each sweep into
# docs/experiments/<name>/ (report.md, summary.csv, per_task.csv, runs.csv, plots/). Experiments whose config is
# not there yet are skipped, and said so. Wall times go to docs/experiments/timings.md.
#
#   bash scripts/run_experiments.sh                    # every experiment present
#   bash scripts/run_experiments.sh c1_partial_labels  # only these
#   REPORT_ONLY=1 bash scripts/run_experiments.sh      # re-make the reports from the latest sweep of each
#
# Environment: PYTHON (default: python), MTLKIT_LOG_DIR (sweeps go to $MTLKIT_LOG_DIR/experiments/<name>/<date>,
# default outputs), DOCS_DIR (default docs/experiments), EXTRA (more overrides for every job, e.g. trainer=gpu).
# A failed job stops its sweep (Hydra's basic launcher); the report still runs and lists the failed and missing jobs.
set -uo pipefail
cd "$(dirname "$0")/.."

export WANDB_MODE=${WANDB_MODE:-offline}
PY=${PYTHON:-python}
LOG_ROOT=${MTLKIT_LOG_DIR:-outputs}/experiments
DOCS=${DOCS_DIR:-docs/experiments}
EXTRA=${EXTRA:-}

ALL=(
  c1_partial_labels
  c2_mtl_vs_separate
  c3_capacity
  c4_many_tasks
  c5_transfer_data_size
  c6_reversed_sizes
  c7_finetune_strategies
  c8_unrelated_source
)

# How each experiment is reported (docs/experiments_plan.md says why).
report_args() {
  case "$1" in
    c1_partial_labels) echo "--baseline loss.unknown=ignore --metric auroc" ;;
    c2_mtl_vs_separate | c3_capacity) echo "--baseline approach=separate" ;;
    c4_many_tasks) echo "--baseline approach=separate --ignore data.tasks c4_other_labels --tasks obj095 obj096 obj097 obj098 obj099" ;;
    c5_transfer_data_size | c6_reversed_sizes | c7_finetune_strategies | c8_unrelated_source) echo "--baseline approach=multitask" ;;
    *) echo "" ;;
  esac
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${ALL[@]}")

mkdir -p "$DOCS"
timings="$DOCS/timings.md"
if [ ! -f "$timings" ]; then
  printf '# Wall time of each experiment sweep\n\n| date | experiment | jobs | wall (s) | machine |\n|---|---|---:|---:|---|\n' >"$timings"
fi
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs), $(uname -m)"

total_start=$SECONDS
status=0
for name in "${names[@]}"; do
  if [ ! -f "conf/experiment/$name.yaml" ]; then
    echo "== skip $name: conf/experiment/$name.yaml is not there yet"
    continue
  fi
  if [ -n "${REPORT_ONLY:-}" ]; then
    sweep=$(ls -1d "$LOG_ROOT/$name"/*/ 2>/dev/null | sort | tail -n 1)
    sweep=${sweep%/}
    if [ -z "$sweep" ]; then
      echo "== skip $name: no sweep under $LOG_ROOT/$name to report on"
      continue
    fi
  else
    sweep="$LOG_ROOT/$name/$(date +%Y-%m-%d_%H-%M-%S)"
    echo "== $name: sweep into $sweep"
    start=$SECONDS
    # shellcheck disable=SC2086
    "$PY" -m mtlkit.train -m "experiment=$name" "hydra.sweep.dir=$sweep" $EXTRA || {
      echo "== $name: the sweep stopped with an error (the report lists failed and missing jobs)"
      status=1
    }
    wall=$((SECONDS - start))
    jobs=$(find "$sweep" -name results.json 2>/dev/null | wc -l)
    printf '| %s | %s | %s | %s | %s |\n' "$(date +%F)" "$name" "$jobs" "$wall" "$machine" >>"$timings"
    echo "== $name: $jobs job(s) finished in ${wall} s"
  fi
  # shellcheck disable=SC2046
  "$PY" -m mtlkit.report "$sweep" --out "$DOCS/$name" --title "$name" $(report_args "$name") || status=1
done
echo "== done in $((SECONDS - total_start)) s; reports under $DOCS/, wall times in $timings"
exit $status
