#!/usr/bin/env bash
# The GPU paths CI cannot run, in one go on a CUDA machine (docs/benchmarks.md, "GPU"): the gpu-marked tests
# (trainer=gpu, bf16-mixed; DDP over 2 GPUs where there are 2), the timm tests against a real torchvision build,
# a pretrained-timm transfer through the CLI with trainer=gpu and bf16, a gradient-balanced run (weighting=famo)
# with bf16, DDP on CUDA with one device, and the timm training benchmark in fp32 and bf16.
#
#   OUT=/tmp/gpu bash scripts/device_check.sh      # logs and benchmark JSON under $OUT
#   ONLY=paths OUT=/tmp/gpu bash scripts/device_check.sh   # only the approach/feature paths on the GPU (last section)
#
# Where mtlkit is not installed (a bare GPU image with torch, Lightning and timm), put hydra-core, omegaconf and
# antlr4 on PYTHONPATH first (EXTRA_SITE=folder), the rest is read from src/.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-outputs/device_check}
mkdir -p "$OUT"
export PYTHONPATH="${EXTRA_SITE:+$EXTRA_SITE:}$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export WANDB_MODE=disabled PYTHONUNBUFFERED=1 MTLKIT_CACHE_DIR=${MTLKIT_CACHE_DIR:-/tmp/mtlkit_cache}
PY=${PYTHON:-python3}
LOGS=${MTLKIT_LOG_DIR:-/tmp/mtlkit_device_runs}
COMMON=(logger=csv callbacks.rich_progress_bar=null "hydra.run.dir=$LOGS/\${now:%H%M%S_%f}")

nvidia-smi -L
if [ "${ONLY:-}" != paths ]; then
"$PY" -c "import torch, torchvision, timm, pytorch_lightning as pl; print('torch', torch.__version__, 'torchvision',
torchvision.__version__, 'timm', timm.__version__, 'lightning', pl.__version__, torch.cuda.get_device_name())"

echo "== gpu-marked tests"
"$PY" -m pytest -q -rs -p no:cacheprovider -m gpu tests/e2e/test_gpu.py 2>&1 | tee "$OUT/gpu_tests.log"
echo "== timm tests (real torchvision: the test shim must do nothing)"
"$PY" -m pytest -q -p no:cacheprovider tests/unit/models/test_timm_backbone.py tests/unit/finetune/test_finetune_timm.py \
  tests/e2e/test_timm_cli.py 2>&1 | tee "$OUT/timm_tests.log"

echo "== pretrained resnet18 (random weights saved to a file), transfer on the image example, trainer=gpu, bf16"
"$PY" -c "import timm, torch; torch.manual_seed(0); torch.save(timm.create_model('resnet18').state_dict(), '/tmp/r18.pth')"
"$PY" -m mtlkit.cli.train model=timm model.name=resnet18 model.pretrained=/tmp/r18.pth approach=transfer \
  transfer.source=pretrained finetune=full finetune.lr_decay=0.7 data=images data.path=examples/images/labels.csv \
  data.normalize=model data.image_size=128 data.batch_size=32 trainer=gpu trainer.precision=bf16-mixed \
  trainer.max_epochs=3 "${COMMON[@]}" 2>&1 | tee "$OUT/timm_transfer_gpu.log" | tail -25
echo "== weighting=famo with bf16 on the GPU"
"$PY" -m mtlkit.cli.train weighting=famo trainer=gpu trainer.precision=bf16-mixed trainer.max_epochs=2 \
  data.num_train=2000 "${COMMON[@]}" 2>&1 | tee "$OUT/famo_bf16.log" | tail -12
echo "== DDP on CUDA, one device"
"$PY" -m mtlkit.cli.train trainer=ddp trainer.devices=1 trainer.max_epochs=2 data.num_train=2000 "${COMMON[@]}" 2>&1 \
  | tee "$OUT/ddp_cuda.log" | tail -12
echo "== benchmark"
"$PY" scripts/bench_timm.py --device cuda --precision 32 bf16 --batch-size 256 --steps 20 --repeats 5 \
  --json "$OUT/bench_timm_gpu.json" 2>&1 | tee "$OUT/bench_timm_gpu.md"
fi

echo "== every approach and the feature paths on the GPU (tiny runs; a gradient method needs torchjd[quadprog_projector])"
SMALL=(trainer=gpu trainer.precision=bf16-mixed trainer.max_epochs=2 data.num_train=2000 data.num_val=500 data.num_test=500)
check() {  # name, overrides...
  local name=$1; shift
  if "$PY" -m mtlkit.cli.train "${SMALL[@]}" "$@" "${COMMON[@]/hydra.run.dir=*/hydra.run.dir=$LOGS/$name}" \
      > "$OUT/path_$name.log" 2>&1; then echo "ok     $name"; else echo "FAILED $name"; tail -5 "$OUT/path_$name.log"; fi
}
check separate approach=separate
check grouped approach=grouped "approach.groups=[[pedestrian,car],[stop_sign,traffic_light]]"
check transfer_gradual approach=transfer finetune=gradual finetune.unfreeze_epoch=1 transfer.pretrain.max_epochs=1 \
  source.num_train=2000
check affinity affinity=tag affinity.every=5
check upgrad weighting=upgrad
if "$PY" -m mtlkit.cli.predict "$LOGS/grouped" --device cuda --output "$OUT/pred.csv" > "$OUT/path_predict.log" 2>&1
then echo "ok     predict --device cuda"; else echo "FAILED predict --device cuda"; tail -5 "$OUT/path_predict.log"; fi
if "$PY" -m mtlkit.cli.advise --seeds 2 --epochs 1 --balancing famo --out "$LOGS/advise" trainer=gpu \
    data.num_train=1000 data.num_val=300 data.num_test=300 callbacks.rich_progress_bar=null > "$OUT/path_advise.log" 2>&1
then echo "ok     advise"; else echo "FAILED advise"; tail -5 "$OUT/path_advise.log"; fi
