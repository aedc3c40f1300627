#!/usr/bin/env bash
# Measures podsift-llm prompt and generation speed on a model: starts the server, sends a
# free-text request and a json_schema request (sequentially), prints the server's timing lines.
# Usage: crates/llm-server/scripts/bench.sh MODEL.gguf [BIN] [THREADS]
set -euo pipefail
model=$1
bin=${2:-target/debug/podsift-llm}
threads=${3:-0}
out=$(mktemp)
coproc SRV { RUST_LOG=${RUST_LOG:-warn,podsift_llm=info} exec "$bin" --model "$model" --threads "$threads" --ctx 4096 2>"$out.err"; }
read -r line <&"${SRV[0]}"
url=${line#listening on }
text='Sleep is when the brain clears metabolic waste through the glymphatic system. Most adults need seven to nine hours. Caffeine has a half-life of about five to six hours, so an afternoon coffee can still disturb sleep at night. Light in the morning helps set the circadian clock.'
req() { curl -s -o /dev/null -w '%{http_code}\n' "$url/v1/chat/completions" -H 'content-type: application/json' -d "$1"; }
req "{\"messages\":[{\"role\":\"user\",\"content\":\"Summarise in five bullet points: $text\"}],\"max_tokens\":128,\"temperature\":0,\"stop\":[\"<|im_end|>\"]}"
schema='{"type":"object","properties":{"insights":{"type":"array","minItems":1,"maxItems":3,"items":{"type":"object","properties":{"text":{"type":"string","maxLength":120},"quote":{"type":"string","maxLength":120},"importance":{"type":"integer","minimum":1,"maximum":5}},"required":["text","quote","importance"]}}},"required":["insights"]}'
req "{\"messages\":[{\"role\":\"system\",\"content\":\"Extract insights as JSON.\"},{\"role\":\"user\",\"content\":\"$text\"}],\"max_tokens\":300,\"temperature\":0,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":$schema}}}"
kill "$SRV_PID" 2>/dev/null || true
wait "$SRV_PID" 2>/dev/null || true
sed 's/\x1b\[[0-9;]*m//g' "$out.err" | grep -E "model loaded|chat completion|grammar refusals"
rm -f "$out" "$out.err"
