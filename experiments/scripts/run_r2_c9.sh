#!/usr/bin/env bash
# Round 2, C9: end-to-end against a pipeline (experiments/plan.md, "C9 (new)"; setup recorded there before any
# run). At each training-set size, both arms for seeds 0-4 with the same 500 steps and data.seed=0:
#   pipeline   experiment=r2_c9/pipeline: a multitask detector of the 4 road objects; its test probabilities turned
#              into p_stop = 1 - (1 - p_pedestrian)(1 - p_stop_sign) by mtlkit-predict --derived
#   end-to-end experiment=r2_c9/end_to_end: one network trained on stop = "pedestrian or stop_sign" alone
# Both arms' test prob_stop are scored against the test set's stop labels by AUROC (mtlkit.report.derived_score),
# paired by seed; per size the mean difference (pipeline - end-to-end, AUROC points) with its 95 % Student-t interval
# (mtlkit.report.paired), and the verdict by the pre-registered rule. Writes experiments/results/r2_c9/: runs.csv (one
# row per size and seed), table.csv (one row per size), report.md, auroc_vs_size.png.
#
#   bash experiments/scripts/run_r2_c9.sh                 # 40 trainings + 40 predictions, then the report (~40 min, 1 thread)
#   REPORT_ONLY=1 bash experiments/scripts/run_r2_c9.sh   # re-make the report from the predictions already there
#
# Sizes run in the order 250, 1000, 16000, 4000: the verdict needs 250/1,000 and 16,000 (4,000 is reported, not
# used), so an interrupted suite still has what the rule reads. A size whose runs and predictions are all there is
# not run again. Environment: PYTHON (default python), MTLKIT_LOG_DIR (runs under $MTLKIT_LOG_DIR/experiments/r2_c9,
# default outputs), DOCS_DIR (default experiments/results), C9_COMMIT (the commit the runs used, for the report;
# default: this checkout's HEAD), C9_NOTE (a line about the machine, for the report); for a quick check of the
# script only: EXTRA (more overrides for every training, e.g. trainer.max_steps=4), C9_SIZES, C9_SEEDS.
set -uo pipefail
cd "$(dirname "$0")/../.."
export WANDB_MODE=${WANDB_MODE:-offline}
PY=${PYTHON:-python}
ROOT=${MTLKIT_LOG_DIR:-outputs}/experiments/r2_c9
OUT=${DOCS_DIR:-experiments/results}/r2_c9
read -r -a SIZES <<<"${C9_SIZES:-250 1000 16000 4000}"
read -r -a SEEDS <<<"${C9_SEEDS:-0 1 2 3 4}"
EXTRA=${EXTRA:-}
RULE='stop="pedestrian or stop_sign"'
export C9_COMMIT=${C9_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
status=0

predict() {  # arm size seed
  local run="$ROOT/$1/n$2/seed_$3" csv="$ROOT/predictions/$1_n$2_seed$3.csv"
  [ -f "$csv" ] && return 0
  if [ "$1" = pipeline ]; then  # the rule over the detector's probabilities; data.tasks=null writes label_stop too
    "$PY" -m mtlkit.cli.predict "$run" --derived "$RULE" data.tasks=null -o "$csv"
  else
    "$PY" -m mtlkit.cli.predict "$run" -o "$csv"
  fi
}

if [ -z "${REPORT_ONLY:-}" ]; then
  start=$(date +%s)
  mkdir -p "$ROOT/predictions"
  for n in "${SIZES[@]}"; do
    for arm in pipeline end_to_end; do
      todo=0
      for s in "${SEEDS[@]}"; do [ -f "$ROOT/predictions/${arm}_n${n}_seed$s.csv" ] || todo=1; done
      if [ $todo = 1 ] && [ ! -f "$ROOT/$arm/n$n/seed_${SEEDS[-1]}/results.json" ]; then
        echo "== $arm, $n images: 5 seeds into $ROOT/$arm/n$n ($(date -u +%H:%M:%S) UTC)"
        rm -rf "$ROOT/$arm/n$n"  # an interrupted sweep of this size starts again
        # shellcheck disable=SC2086
        "$PY" -m mtlkit.cli.train -m "experiment=r2_c9/$arm" "data.num_train=$n" "seed=$(IFS=,; echo "${SEEDS[*]}")" \
          "hydra.sweep.dir=$ROOT/$arm/n$n" 'hydra.sweep.subdir=seed_${seed}' $EXTRA || status=1
      fi
      for s in "${SEEDS[@]}"; do predict "$arm" "$n" "$s" || status=1; done
    done
  done
  wall=$(( $(date +%s) - start ))
  echo "$wall" >"$ROOT/wall_s.txt"
  echo "== trainings and predictions: wall time $wall s"
fi

mkdir -p "$OUT"
ROOT="$ROOT" OUT="$OUT" SIZES="${SIZES[*]}" SEEDS="${SEEDS[*]}" "$PY" - <<'EOF' || status=1
"""C9's report: AUROC of both arms per size and seed, paired differences, the verdict by the plan's rule."""
import csv
import json
import math
import os
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mtlkit.report.derived_score import same_examples, score_csv  # noqa: E402
from mtlkit.report.paired import paired, t_quantile  # noqa: E402

root, out = Path(os.environ["ROOT"]), Path(os.environ["OUT"])
sizes = sorted(int(n) for n in os.environ["SIZES"].split())
seeds = [int(s) for s in os.environ["SEEDS"].split()]
ARMS = ("pipeline", "end_to_end")
FLOOR = 0.5  # AUROC points (experiments/plan.md, C9)


def fit_seconds(arm, n, s):
    f = root / arm / f"n{n}" / f"seed_{s}" / "results.json"
    return json.loads(f.read_text())["timings"]["fit_s"] if f.is_file() else math.nan


rows = []
for n in sizes:
    for s in seeds:
        csvs = [root / "predictions" / f"{arm}_n{n}_seed{s}.csv" for arm in ARMS]
        if not all(c.is_file() for c in csvs):
            continue
        same_examples(csvs, "stop")  # both arms scored on the same test images and labels
        scores = [score_csv(c, "stop") for c in csvs]
        rows.append({
            "num_train": n, "seed": s,
            "auroc_pipeline": scores[0].auroc, "auroc_end_to_end": scores[1].auroc,
            "diff_points": 100 * (scores[0].auroc - scores[1].auroc),
            "test_n": scores[0].n, "test_positives": scores[0].positives,
            "fit_s_pipeline": fit_seconds("pipeline", n, s), "fit_s_end_to_end": fit_seconds("end_to_end", n, s),
        })


def verdict(p):
    if p.n < 2 or math.isnan(p.low):
        return "undecided"
    if p.low > 0 and p.mean >= FLOOR:
        return "pipeline better"
    if p.high < 0 and p.mean <= -FLOOR:
        return "end-to-end better"
    return "no meaningful difference"


def mean_ci(values):
    m = statistics.fmean(values)
    if len(values) < 2:
        return m, math.nan
    return m, t_quantile(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))


table = {}
for n in sizes:
    r = [x for x in rows if x["num_train"] == n]
    if not r:
        continue
    p = paired([x["diff_points"] for x in r])
    table[n] = {
        "num_train": n, "seeds": len(r),
        **{f"auroc_{a}_mean": statistics.fmean(x[f"auroc_{a}"] for x in r) for a in ARMS},
        **{f"auroc_{a}_sd": statistics.stdev(x[f"auroc_{a}"] for x in r) if len(r) > 1 else math.nan for a in ARMS},
        "diff_points_mean": p.mean, "diff_ci_low": p.low, "diff_ci_high": p.high, "verdict": verdict(p),
        **{f"fit_s_{a}_mean": statistics.fmean(x[f"fit_s_{a}"] for x in r) for a in ARMS},
    }

# The claim (experiments/plan.md, C9, recorded before any run)
small = [n for n in (250, 1000) if n in table]
a_sizes = [n for n in small if table[n]["verdict"] == "pipeline better"]
if (len(small) < 2 and not a_sizes) or (16000 not in table and a_sizes):
    claim, why = "incomplete", "a size the rule reads (250, 1,000, 16,000) has no results"
elif not a_sizes:
    e2e = [n for n in small if table[n]["verdict"] == "end-to-end better"]
    claim = "contradicted" if e2e else "not supported"
    why = "(A) fails: the pipeline is not better by the rule at 250 or 1,000" + (
        f"; end-to-end is better at {', '.join(f'{n:,}' for n in e2e)}" if e2e else "")
else:
    big = table[16000]
    best = max(table[n]["diff_points_mean"] for n in a_sizes)
    b = big["verdict"] != "pipeline better" or big["diff_points_mean"] <= best / 2
    claim = "supported" if b else "partly supported"
    why = (f"(A) holds at {', '.join(f'{n:,}' for n in a_sizes)}; at 16,000 the verdict is '{big['verdict']}' with "
           f"mean {big['diff_points_mean']:+.2f} points against a largest (A) mean of {best:+.2f}: (B) "
           + ("holds" if b else "fails (no shrinking to half or less)"))

out.mkdir(parents=True, exist_ok=True)
with (out / "runs.csv").open("w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["num_train"])
    w.writeheader()
    w.writerows({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in x.items()} for x in rows)
with (out / "table.csv").open("w", newline="") as f:
    fields = list(next(iter(table.values()))) if table else ["num_train"]
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    w.writerows({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in x.items()} for x in table.values())

# plot: AUROC vs size (mean over seeds, 95 % t interval), and the paired difference
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
ns = list(table)
for arm, label in (("pipeline", "pipeline (detector + noisy-OR)"), ("end_to_end", "end-to-end (stop alone)")):
    stats = [mean_ci([x[f"auroc_{arm}"] for x in rows if x["num_train"] == n]) for n in ns]
    ax1.errorbar(ns, [m for m, _ in stats], yerr=[h for _, h in stats], marker="o", capsize=4, label=label)
ax1.set(xscale="log", xlabel="training images", ylabel="test AUROC of stop", title="mean over seeds, 95 % t interval")
ax1.set_xticks(ns, [f"{n:,}" for n in ns])
ax1.legend()
ax2.errorbar(ns, [table[n]["diff_points_mean"] for n in ns],
             yerr=[[table[n]["diff_points_mean"] - table[n]["diff_ci_low"] for n in ns],
                   [table[n]["diff_ci_high"] - table[n]["diff_points_mean"] for n in ns]],
             marker="o", capsize=4, color="k")
ax2.axhline(0, color="grey", lw=0.8)
for sign in (1, -1):
    ax2.axhline(sign * FLOOR, color="grey", lw=0.8, ls=":")
ax2.set(xscale="log", xlabel="training images", ylabel="pipeline - end-to-end (AUROC points)",
        title="paired difference, 95 % t interval (n = seeds)")
ax2.set_xticks(ns, [f"{n:,}" for n in ns])
fig.tight_layout()
fig.savefig(out / "auroc_vs_size.png", dpi=120)

wall = root / "wall_s.txt"
lines = [
    "# C9 (round 2): end-to-end against a pipeline",
    "",
    "Made by `bash experiments/scripts/run_r2_c9.sh` (setup: experiments/plan.md, C9, recorded before any run; configs "
    "`experiments/conf/experiment/r2_c9/`). Runs at commit " + os.environ.get("C9_COMMIT", "unknown") + ".",
    "Pipeline: `approach=multitask` on the 4 road objects, then p_stop = 1 - (1 - p_pedestrian)(1 - p_stop_sign) "
    "(`mtlkit-predict --derived`); end-to-end: one network on `stop` = \"pedestrian or stop_sign\" alone. 500 steps "
    "for both at every size, `data.seed=0`, no missing labels; test AUROC of `stop` on the same 2,000 test images "
    "(`mtlkit.report.derived_score`).",
    "",
    "| training images | seeds | pipeline AUROC | end-to-end AUROC | difference (points), 95 % t interval | verdict |",
    "|---:|---:|---:|---:|---:|---|",
]
for n, t in table.items():
    lines.append(
        f"| {n:,} | {t['seeds']} | {t['auroc_pipeline_mean']:.4f} ± {t['auroc_pipeline_sd']:.4f} | "
        f"{t['auroc_end_to_end_mean']:.4f} ± {t['auroc_end_to_end_sd']:.4f} | {t['diff_points_mean']:+.2f} "
        f"[{t['diff_ci_low']:+.2f}, {t['diff_ci_high']:+.2f}] | {t['verdict']} |"
    )
lines += [
    "",
    "AUROC: mean ± standard deviation over seeds. Difference: per seed, 100 x (pipeline AUROC - end-to-end AUROC), "
    f"mean with its 95 % Student-t interval; an effect counts when the interval excludes 0 and |mean| ≥ {FLOOR} "
    "points.",
    "",
    f"**Claim (by the rule recorded before the runs): {claim}.** {why}.",
    "",
    "Mean fit time per run (s): " + "; ".join(
        f"{n:,}: pipeline {t['fit_s_pipeline_mean']:.0f}, end-to-end {t['fit_s_end_to_end_mean']:.0f}"
        for n, t in table.items()),
]
if wall.is_file():
    lines.append(f"Wall time of the trainings and predictions: {int(wall.read_text())} s. "
                 + os.environ.get("C9_NOTE", ""))
lines += ["", "![AUROC vs training-set size](auroc_vs_size.png)", "",
          "Files: `runs.csv` (one row per size and seed), `table.csv` (one row per size)."]
(out / "report.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
exit $status
