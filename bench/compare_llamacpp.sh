#!/usr/bin/env bash
# Side by side with llama.cpp on the same GGUF files, in one run (the machines are shared and
# noisy, so only ratios measured together mean anything). llama.cpp is not built here: pass
# the path of a llama-bench you built outside the repository.
#   LLAMA_BENCH=/path/to/llama-bench bench/compare_llamacpp.sh MODEL.gguf [MODEL.gguf ...]
# Env: THREADS (default "1 2"), PP (512), TG (128), REPS (3), LOWBIT (build/lowbit).
# Prints a markdown table: t/s of each, and lowbit / llama.cpp.
set -euo pipefail
LB=${LOWBIT:-build/lowbit}
LLB=${LLAMA_BENCH:?set LLAMA_BENCH to a llama-bench binary}
THREADS=${THREADS:-1 2}
PP=${PP:-512}
TG=${TG:-128}
REPS=${REPS:-3}
echo "| model | threads | test | llama.cpp t/s | lowbit t/s | ratio |"
echo "|---|---|---|---|---|---|"
for model in "$@"; do
  for t in $THREADS; do
    ll=$("$LLB" -m "$model" -t "$t" -p "$PP" -n "$TG" -r "$REPS" -o json 2>/dev/null)
    lb=$("$LB" bench "$model" -t "$t" -p "$PP" -n "$TG" -r "$REPS" --json 2>/dev/null)
    for test in "pp$PP" "tg$TG"; do
      if [ "${test:0:2}" = pp ]; then sel='.n_prompt > 0 and .n_gen == 0'; else sel='.n_gen > 0 and .n_prompt == 0'; fi
      a=$(echo "$ll" | jq "[.[] | select($sel)][0].avg_ts")
      b=$(echo "$lb" | jq "[.[] | select(.test == \"$test\")][0].median_ts")
      printf "| %s | %s | %s | %.2f | %.2f | %.2fx |\n" "$(basename "$model")" "$t" "$test" "$a" "$b" \
        "$(echo "$b / $a" | bc -l)"
    done
  done
done
