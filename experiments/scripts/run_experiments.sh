#!/usr/bin/env bash
# Run the experiment suite, then mtlkit-report on each experiment into experiments/results/<name>/ (report.md,
# summary.csv, per_task.csv, runs.csv, plots/). Experiments whose config is not there yet are skipped, and said so.
# Wall times go to experiments/results/timings.md.
#
# An experiment <name> is experiments/conf/experiment/<name>.yaml and any experiments/conf/experiment/<name>__<part>.yaml, each a multirun,
# run into $MTLKIT_LOG_DIR/experiments/<name>/<date>/<part> (MTLKIT_SWEEP_ROOT is exported as the <date> folder, so
# a part can point at an earlier part's checkpoints: ${oc.env:MTLKIT_SWEEP_ROOT}/...). Parts whose name contains
# "pretrain" run first (in name order) and are inputs of the others: they are left out of the report. The other
# parts run next, in name order.
#
#   bash experiments/scripts/run_experiments.sh                    # every experiment present
#   bash experiments/scripts/run_experiments.sh c1_partial_labels  # only these
#   REPORT_ONLY=1 bash experiments/scripts/run_experiments.sh      # re-make the reports from the latest sweep of each
#   DRY_RUN=1 bash experiments/scripts/run_experiments.sh          # print every command (parts in order, reports), run none
#
# Environment: PYTHON (default: python), MTLKIT_LOG_DIR (sweeps go to $MTLKIT_LOG_DIR/experiments/<name>/<date>,
# default outputs), DOCS_DIR (default experiments/results), EXTRA (more overrides for every job, e.g. trainer=gpu).
# A failed job does not stop the others (Hydra's basic sweeper runs every job, then exits with an error); the report
# still runs and lists failed jobs, and jobs that never started if a sweep was interrupted.
set -uo pipefail
cd "$(dirname "$0")/../.."

export WANDB_MODE=${WANDB_MODE:-offline}
PY=${PYTHON:-python}
LOG_ROOT=${MTLKIT_LOG_DIR:-outputs}/experiments
DOCS=${DOCS_DIR:-experiments/results}
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

# How each experiment is reported (experiments/plan.md says why). Every job records `experiment=<its part>`,
# so experiments in several parts ignore that key when matching a configuration with its baseline, and the keys
# that the baseline part holds with another value (e.g. the default source of a from-scratch run).
report_args() {
  case "$1" in
    c1_partial_labels) echo "--baseline loss.unknown=ignore --metric auroc" ;;
    c2_mtl_vs_separate | c3_capacity) echo "--baseline approach=separate" ;;
    c4_many_tasks)
      echo "--baseline approach=separate --ignore experiment data.tasks c4_other_labels data.missing_rate" \
        "--tasks obj095 obj096 obj097 obj098 obj099"
      ;;
    c5_transfer_data_size) echo "--baseline approach=multitask --ignore experiment" ;;
    c6_reversed_sizes) echo "--baseline approach=multitask --ignore experiment source.num_train" ;;
    c7_finetune_strategies) echo "--baseline approach=multitask --ignore experiment finetune.k --x data.num_train" ;;
    c8_unrelated_source) echo "--baseline approach=multitask --ignore experiment data@source" ;;
    *) echo "" ;;
  esac
}

# DRY_RUN=1: print a command instead of running it.
run() {
  if [ -n "${DRY_RUN:-}" ]; then
    echo "+ $*"
  else
    "$@"
  fi
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${ALL[@]}")

timings="$DOCS/timings.md"
[ -z "${DRY_RUN:-}" ] && mkdir -p "$DOCS"
if [ -z "${DRY_RUN:-}" ] && [ ! -f "$timings" ]; then
  printf '# Wall time of each experiment sweep\n\n| date | experiment | jobs | wall (s) | machine |\n|---|---|---:|---:|---|\n' >"$timings"
fi
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs), $(uname -m)"

total_start=$SECONDS
status=0
for name in "${names[@]}"; do
  parts=()
  [ -f "experiments/conf/experiment/$name.yaml" ] && parts+=("$name")
  for f in experiments/conf/experiment/"$name"__*.yaml; do
    [ -f "$f" ] && parts+=("$(basename "$f" .yaml)")
  done
  if [ ${#parts[@]} -eq 0 ]; then
    echo "== skip $name: experiments/conf/experiment/$name.yaml is not there yet"
    continue
  fi
  # pretraining parts first, then the others, each in name order
  mapfile -t parts < <(printf '%s\n' "${parts[@]}" | grep pretrain | sort; printf '%s\n' "${parts[@]}" | grep -v pretrain | sort)
  if [ -n "${REPORT_ONLY:-}" ] && [ -z "${DRY_RUN:-}" ]; then
    root=$(ls -1d "$LOG_ROOT/$name"/*/ 2>/dev/null | sort | tail -n 1)
    root=${root%/}
    if [ -z "$root" ]; then
      echo "== skip $name: no sweep under $LOG_ROOT/$name to report on"
      continue
    fi
  else
    root="$LOG_ROOT/$name/$(date +%Y-%m-%d_%H-%M-%S)"
    export MTLKIT_SWEEP_ROOT="$root"
    for part in "${parts[@]}"; do
      echo "== $part: sweep into $root/$part"
      start=$SECONDS
      # shellcheck disable=SC2086
      run "$PY" -m mtlkit.cli.train -m "experiment=$part" "hydra.sweep.dir=$root/$part" $EXTRA || {
        echo "== $part: some job failed or the sweep was interrupted (the report lists failed and missing jobs)"
        status=1
      }
      [ -n "${DRY_RUN:-}" ] && continue
      wall=$((SECONDS - start))
      jobs=$(find "$root/$part" -name results.json 2>/dev/null | wc -l)
      printf '| %s | %s | %s | %s | %s |\n' "$(date +%F)" "$part" "$jobs" "$wall" "$machine" >>"$timings"
      echo "== $part: $jobs job(s) finished in ${wall} s"
    done
  fi
  dirs=()
  for part in "${parts[@]}"; do
    case "$part" in *pretrain*) continue ;; esac
    [ -d "$root/$part" ] || [ -n "${DRY_RUN:-}" ] && dirs+=("$root/$part")
  done
  if [ ${#dirs[@]} -eq 0 ]; then
    echo "== $name: nothing to report under $root"
    status=1
    continue
  fi
  # shellcheck disable=SC2046
  run "$PY" -m mtlkit.report "${dirs[@]}" --out "$DOCS/$name" --title "$name" $(report_args "$name") || status=1
done
echo "== done in $((SECONDS - total_start)) s; reports under $DOCS/, wall times in $timings"
exit $status
