#!/usr/bin/env bash
# GPU acceptance check (README, "Running at real size"): needs one CUDA GPU, no model hub.
#   1. scripts/gpu_check.py: mixed-precision training steps of a Qwen2-shaped ~0.5B model built
#      from a config (fp32 master weights, bf16 compute, micro-batches, gradient checkpointing),
#      peak memory against training/memory.py's estimate, HF sampling tokens/s, and with vLLM
#      installed: vLLM tokens/s, weight sync, and vLLM log-probs recomputed by the trainer.
#   2. The smoke DAG (`dvc repro` on profiles/smoke.yaml) with every training stage on the GPU.
# Usage: bash scripts/gpu_check.sh [OUT_DIR]   (DATA_ROOT=... if the benchmarks are not in ../shared/data;
#        PARTS="checks stages smoke_dag" to run a subset; CHECKS_LIMIT/STAGES_LIMIT/SMOKE_LIMIT seconds)
# Measured on one H200: see README. Exit status 0 only if every part passed.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=$(mkdir -p "${1:-gpu_check_out}" && cd "${1:-gpu_check_out}" && pwd)
PY=${PYTHON:-python3}
DATA_ROOT=${DATA_ROOT:-$REPO/../shared/data}
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 DVC_NO_ANALYTICS=1 TOKENIZERS_PARALLELISM=false
status=0

part() {  # part NAME SECONDS CMD...: run one part under a hard timeout, log it, record its status
  local name=$1 limit=$2; shift 2
  [[ " ${PARTS:-checks stages smoke_dag} " == *" $name "* ]] || return 0  # PARTS: run only these
  local t0=$SECONDS
  echo "== $name"
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  tail -n 40 "$OUT/$name.log"
  echo "$name: rc=$rc, $((SECONDS - t0)) s" | tee -a "$OUT/summary.txt"
  [[ $rc -eq 0 ]] || status=1
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/summary.txt"
"$PY" -c "import torch, transformers, accelerate; print('torch', torch.__version__, 'transformers', transformers.__version__, 'accelerate', accelerate.__version__)" | tee -a "$OUT/summary.txt"

# GPU_CHECK_ARGS=--allow-no-vllm passes where vLLM is not installed (its checks are then skipped).
part checks "${CHECKS_LIMIT:-200}" "$PY" scripts/gpu_check.py --out "$OUT/gpu_check.json" ${GPU_CHECK_ARGS:-}

SCRATCH=$(mktemp -d)
export REPO OUT PY DATA_ROOT SCRATCH

new_smoke_repo() {  # a scratch git repo with the smoke profile, like tests/pipeline/test_dvc_smoke.py
  local work
  work=$(mktemp -d "$SCRATCH/repo.XXXX")/main
  mkdir -p "$work/.dvc"
  cd "$REPO" && cp -r pipeline inputs data_selection training rl evaluation generation profiles annotations dvc.yaml \
    .dvcignore .gitignore "$work"/ && cp .dvc/config "$work/.dvc/"
  cd "$work" && "$PY" -m pipeline.profile smoke --data-root "$DATA_ROOT" >/dev/null || return 1
  git init -q && git add -A && git -c user.name=gpu -c user.email=gpu@check commit -qm smoke || return 1
  echo "$work"
}

# 2. SFT and GRPO stages of the smoke profile on the GPU: plain, then under accelerate's sharded
#    backends on this one GPU (a 1-rank mesh, so the loss must match the plain run's): FSDP2 (SFT
#    and GRPO) and, with DeepSpeed installed, ZeRO-3 (SFT): sharded module, gathered full state
#    dict, sharded checkpoints. SMOKE_INPUTS: a folder with data/problems and models/{pretrain,sft}
#    from the smoke DAG, to skip building them (else `dvc repro sft` builds them here).
stages() {
  local work
  work=$(new_smoke_repo) && cd "$work" || return 1
  if [[ -n ${SMOKE_INPUTS:-} ]]; then
    cp -r "$SMOKE_INPUTS"/data "$SMOKE_INPUTS"/models . || return 1
  else
    "$PY" -m dvc repro sft problems@rl || return 1
  fi
  # HF rollouts in every GRPO run: the lean sampler refuses sharded weights, and the plain and
  # sharded runs must draw their samples the same way to be compared.
  sed -i 's/^\(  engine:\) lean\b/\1 hf/' params.yaml && grep -q '^  engine: hf' params.yaml || return 1
  launch() {
    if [[ $1 == plain ]]; then "$PY" "${@:2}"; else
      "$PY" -m accelerate.commands.launch --config_file "$REPO/configs/accelerate/$1.yaml" --num_processes 1 "${@:2}"; fi
  }
  mkdir -p "$SCRATCH/runs"
  local runs=("plain sft" "fsdp sft" "plain grpo" "fsdp grpo")
  "$PY" -c "import deepspeed" 2>/dev/null && runs+=("zero3 sft") || echo "deepspeed not installed: ZeRO-3 not checked"
  for run in "${runs[@]}"; do
    set -- $run
    local dir=$SCRATCH/runs/$1_$2 t0=$SECONDS
    if [[ $2 == sft ]]; then
      launch "$1" -m pipeline.sft --train data/problems/sft.jsonl --init models/pretrain --out "$dir/model" \
        --live "$dir/live" --metrics "$dir/metrics.json" --checkpoints "$dir/ck" > "$dir.log" 2>&1
    else
      launch "$1" -m pipeline.grpo --method grpo_outcome --train data/problems/rl.jsonl --init models/sft \
        --out "$dir/model" --live "$dir/live" --metrics "$dir/metrics.json" --checkpoints "$dir/ck" > "$dir.log" 2>&1
    fi
    local rc=$?
    echo "$1 $2: rc=$rc, $((SECONDS - t0)) s"
    [[ $rc -eq 0 ]] || { tail -n 25 "$dir.log"; return 1; }
    [[ $1 == plain ]] || "$PY" "$REPO/scripts/same_loss.py" "$SCRATCH/runs" "$2" "$1" || return 1
  done
}
export -f new_smoke_repo stages
part stages "${STAGES_LIMIT:-240}" bash -c stages

# 3. The whole smoke DAG with DVC, every training and sampling stage on the GPU.
smoke_dag() {
  local work
  work=$(new_smoke_repo) && cd "$work" && "$PY" -m dvc repro && "$PY" -m dvc metrics show
}
export -f smoke_dag
part smoke_dag "${SMOKE_LIMIT:-600}" bash -c smoke_dag

cat "$OUT/summary.txt"
exit $status
