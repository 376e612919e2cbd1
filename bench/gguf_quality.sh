#!/usr/bin/env bash
# The GGUF quality table (docs/quality-gguf.md): for each llama.cpp mix, quantize the F32 model
# with lowbit, then measure bits per weight, file size, PPL, mean KL divergence and top-1
# agreement against the F32 model (llama-perplexity's protocol, so the figures compare with
# ../shared/golden/gguf/llamacpp-ppl.tsv), and the quantize time.
#   bench/gguf_quality.sh [SHARED_DIR] > docs/quality-gguf.md
# A mix that fails to quantize is reported as such; check stderr for the reason.
set -euo pipefail
SHARED=${1:-../shared}
LB=${LOWBIT:-build/lowbit}
T=${THREADS:-2}
TEXT=$SHARED/data/tinystories/tinystories-valid-head-eval.txt
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

table() {  # name f32_gguf ctx chunks imatrix mixes...
  local name=$1 base=$2 ctx=$3 chunks=$4 imat=$5
  shift 5
  local params
  params=$($LB inspect "$base" --json | jq '.totals.params')
  $LB eval "$base" --text "$TEXT" --protocol llama.cpp -c "$ctx" --max-chunks "$chunks" -t "$T" -q \
      --save-logits "$TMP/base.lbl" --json > "$TMP/base.json"
  echo "### $name (ctx $ctx, $chunks chunks, llama.cpp protocol)"
  echo
  echo "| type | bits/weight | file MiB | PPL | llama.cpp PPL | mean KLD | top-1 % | quantize s |"
  echo "|---|---|---|---|---|---|---|---|"
  printf "| F32 | 32.00 | %.2f | %.4f | | 0 | 100 | |\n" "$(echo "$(stat -c %s "$base")/1048576" | bc -l)" \
      "$(jq .ppl "$TMP/base.json")"
  for mix in "$@"; do
    local m=${mix%-imat} args=() tag=$mix
    [[ $mix == *-imat ]] && args=(--imatrix "$imat")
    local t0 t1
    t0=$(date +%s.%N)
    if ! $LB quantize "$base" --to "gguf:$m" -o "$TMP/q.gguf" -t "$T" -q "${args[@]}" > /dev/null 2> "$TMP/err"; then
      echo "| $tag | (failed: $(tail -1 "$TMP/err" | cut -c1-80)) | | | | | | |"
      continue
    fi
    t1=$(date +%s.%N)
    $LB eval "$TMP/q.gguf" --text "$TEXT" --kl-base "$TMP/base.lbl" -t "$T" -q --json > "$TMP/q.json"
    local bytes ref
    bytes=$(stat -c %s "$TMP/q.gguf")
    ref=$(awk -F'\t' -v f="$name-$tag.gguf" '$1 == f {print $5}' "$SHARED/golden/gguf/llamacpp-ppl.tsv")
    printf "| %s | %.2f | %.2f | %.4f | %s | %.6f | %.2f | %.2f |\n" "$tag" \
        "$(echo "$bytes*8/$params" | bc -l)" "$(echo "$bytes/1048576" | bc -l)" "$(jq .ppl "$TMP/q.json")" \
        "${ref:-}" "$(jq .kl.mean "$TMP/q.json")" "$(jq .kl.top1_pct "$TMP/q.json")" "$(echo "$t1 - $t0" | bc -l)"
  done
  echo
}

MIXES="Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_0 Q4_1 Q4_K_S Q4_K_M Q4_K_M-imat Q5_0 Q5_1 Q5_K_S Q5_K_M Q6_K Q8_0 IQ4_NL IQ4_XS IQ4_XS-imat TQ1_0 TQ2_0 MXFP4 F16 BF16 IQ3_XXS-imat IQ2_XXS-imat"
echo "# GGUF types: quality and size"
echo
echo "Made by \`bench/gguf_quality.sh\` ($(date -u +%Y-%m-%d), $T threads). bits/weight = file bytes x 8 / parameters"
echo "(so it includes metadata and the F32 norms). KLD and top-1 are against the F32 model's log-probs"
echo "(\`lowbit eval --save-logits\` / \`--kl-base\`). \"llama.cpp PPL\" is what llama-perplexity reported for"
echo "llama-quantize's file of the same mix (golden/gguf/llamacpp-ppl.tsv), where there is one."
echo
table tinystories-llama-5M "$SHARED/models/tinystories-llama-5M/tinystories-llama-5M-F32.gguf" 256 80 \
    "$SHARED/golden/gguf/tinystories-llama-5M.imatrix.gguf" $MIXES
table stories260K "$SHARED/models/stories260K/stories260K.gguf" 512 40 \
    "$SHARED/golden/gguf/stories260K.imatrix.gguf" $MIXES
