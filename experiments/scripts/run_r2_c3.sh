#!/usr/bin/env bash
# Round 2's C3 (experiments/plan.md, "C3 again", as priced and cut before any run): capacity, shared against
# separate networks at equal steps and equal compute, 3 seeds, in two parts of at most about 80 minutes on one thread.
#
#   bash experiments/scripts/run_r2_c3.sh A     # widths 2, 4, 8, 16, 32: shared and separate (6 epochs), shared at 48 epochs,
#                                   # 2-layer heads at width 16 (6 and 48), the affinity grouping at width 32
#   bash experiments/scripts/run_r2_c3.sh B     # width 64: shared and separate (6), shared at 48, 2-layer heads (6 only)
#   REPORT_ONLY=1 bash experiments/scripts/run_r2_c3.sh B      # the reports over whatever both parts have written
#   SMOKE=1 MTLKIT_LOG_DIR=/tmp/x DOCS_DIR=/tmp/x bash experiments/scripts/run_r2_c3.sh A   # a check of the script (tiny runs)
#
# Reports (Δm against approach=separate of the same width and seed, paired by seed) go to
# experiments/results/r2_c3/{equal_steps,equal_compute}/ after each part.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} WANDB_MODE=${WANDB_MODE:-offline}
PY=${PYTHON:-python}
part=${1:?give the part: A or B}
ROOT=${MTLKIT_LOG_DIR:-outputs}/experiments/r2_c3
OUT=${DOCS_DIR:-experiments/results}/r2_c3
EPOCHS=6 FACTOR=8 SEEDS=0,1,2
COMMON=(experiment=r2_c3/base)
if [ -n "${SMOKE:-}" ]; then
  EPOCHS=1 FACTOR=2 SEEDS=0,1
  COMMON+=(data.num_train=256 data.num_val=128 data.num_test=128)
fi
train() {  # name, overrides... (each call sets trainer.max_epochs)
  local name=$1; shift
  "$PY" -m mtlkit.cli.train -m "${COMMON[@]}" "seed=$SEEDS" "$@" "hydra.sweep.dir=$ROOT/$name" || true
}

if [ -z "${REPORT_ONLY:-}" ]; then
  start=$(date +%s)
  case "$part" in
    A)
      train a_steps approach=multitask,separate model.width=2,4,8,16,32 "trainer.max_epochs=$EPOCHS"
      train a_compute approach=multitask model.width=2,4,8,16,32 "trainer.max_epochs=$((EPOCHS * FACTOR))"
      train a_head2 approach=multitask head.layers=2 model.width=16 "trainer.max_epochs=$EPOCHS,$((EPOCHS * FACTOR))"
      # the grouping: affinity=tag on a width-32 multitask run with seed 10 (no claim uses it), best over k = 2..7
      "$PY" -m mtlkit.cli.train "${COMMON[@]}" "trainer.max_epochs=$EPOCHS" model.width=32 affinity=tag \
        affinity.every=5 seed=10 "hydra.run.dir=$ROOT/affinity" overwrite=true
      read -r groups factor < <("$PY" - "$ROOT/affinity" "$FACTOR" <<'PYEOF'
import sys
from pathlib import Path

from mtlkit.advise.run import choose_grouping

g = choose_grouping(Path(sys.argv[1]), None)["groups"]
print("[" + ",".join("[" + ",".join(x) + "]" for x in g) + "]", max(1, round(int(sys.argv[2]) / len(g))))
PYEOF
      )
      echo "grouping at width 32: $groups (equal compute: $factor x the epochs)"
      epochs=$EPOCHS; [ "$factor" -gt 1 ] && epochs="$EPOCHS,$((EPOCHS * factor))"
      train a_grouped approach=grouped "approach.groups=$groups" model.width=32 "trainer.max_epochs=$epochs"
      ;;
    B)
      train b_steps approach=multitask,separate model.width=64 "trainer.max_epochs=$EPOCHS"
      train b_compute approach=multitask model.width=64 "trainer.max_epochs=$((EPOCHS * FACTOR))"
      train b_head2 approach=multitask head.layers=2 model.width=64 "trainer.max_epochs=$EPOCHS"
      ;;
    *) echo "unknown part $part: give A or B" >&2; exit 2 ;;
  esac
  mkdir -p "$OUT"
  echo "part $part: wall time $(( $(date +%s) - start )) s on $(nproc --all) cores, OMP_NUM_THREADS=$OMP_NUM_THREADS" \
    "($(date -u +%F))" | tee "$OUT/wall_time_$part.txt"
fi
dirs() { for d in "$@"; do [ -d "$ROOT/$d" ] && echo "$ROOT/$d"; done; }
mapfile -t steps < <(dirs a_steps b_steps a_head2 b_head2 a_grouped)
mapfile -t compute < <(dirs a_steps b_steps a_compute b_compute a_head2 a_grouped)
"$PY" -m mtlkit.cli.report "${steps[@]}" --baseline approach=separate --where "trainer.max_epochs=$EPOCHS" \
  --ignore head.layers approach.groups --out "$OUT/equal_steps"
"$PY" -m mtlkit.cli.report "${compute[@]}" --baseline approach=separate --ignore trainer.max_epochs head.layers \
  approach.groups --out "$OUT/equal_compute"
