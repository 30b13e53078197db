#!/usr/bin/env bash
# Prints how many answers a class's local model server decodes at once (OLLAMA_NUM_PARALLEL), sized
# for this machine: 4 per core (a batch of several answers costs little more than one on a CPU, whose
# time goes to reading the weights), at most one per 128 MiB of half the available memory (each slot
# holds its own 2048-token context), at most 16, at least 1.
# Usage: bash kernel-setup/model-slots.sh     (CORES= and MEM_MIB= override what the machine says)
set -euo pipefail
cores=${CORES:-$(nproc)}
mem=${MEM_MIB:-$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)}
slots=$((cores * 4))
((slots <= mem / 2 / 128)) || slots=$((mem / 2 / 128))
((slots <= 16)) || slots=16
((slots >= 1)) || slots=1
echo "$slots"
