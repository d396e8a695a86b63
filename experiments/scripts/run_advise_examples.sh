#!/usr/bin/env bash
# The two mtlkit-advise runs shown in the README and docs/grouping.md: the shipped example table, and the road scenes
# with 8 tasks at a small budget, at equal steps per network and at equal training compute. Outputs in outputs/advise_{table,road}; the verdicts and the heatmap are copied to
# experiments/results/advise/. Times were taken on a 2-core CPU (see docs/grouping.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
which="${1:-all}"
if [[ "$which" == all || "$which" == table ]]; then
  mtlkit-advise --seeds 3 --out outputs/advise_table \
    data=table data.path=examples/table/patients.csv 'data.label_columns=[a,b,c]' model=mlp callbacks.rich_progress_bar=null
  mkdir -p experiments/results/advise/table
  cp outputs/advise_table/verdict.md outputs/advise_table/verdict.json experiments/results/advise/table/
fi
if [[ "$which" == all || "$which" == road ]]; then
  mtlkit-advise --seeds 3 --epochs 3 --budget both --out outputs/advise_road \
    data.num_classes=8 data.num_train=3000 data.num_val=1000 data.num_test=2000 callbacks.rich_progress_bar=null
  mkdir -p experiments/results/advise/road
  cp outputs/advise_road/verdict.md outputs/advise_road/verdict.json outputs/advise_road/affinity/affinity.png \
     outputs/advise_road/affinity/affinity.csv experiments/results/advise/road/
fi
