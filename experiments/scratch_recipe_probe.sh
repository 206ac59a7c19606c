#!/usr/bin/env bash
# Probe variants of the network's from-scratch recipe on the validation subject only (sub-05 of the
# accuracy studies of experiments/accuracy_runs.sh, BIDS layout; sub-06, the test subject, is not
# looked at). Each variant is an ordinary `neurobolt train` run per simulator seed (one network
# unless OPTIONS say --ensemble N); the table
# printed at the end is the best validation mean r of each run (the epoch the run keeps).
#
#   bash experiments/scratch_recipe_probe.sh WORKDIR NAME "TRAIN OPTIONS" [SEEDS]
#   python experiments/probe_table.py WORKDIR/probes     # every variant so far, one row each
#
# WORKDIR is the accuracy studies' folder (cache1..3 and sheet_bids.tsv made by accuracy_runs.sh).
set -euo pipefail
work=${1:?usage: scratch_recipe_probe.sh WORKDIR NAME "OPTIONS" [SEEDS]}
name=${2:?name}
opts=${3:-}
seeds=${4:-1 2 3}
cd "$work"
mkdir -p probes
for seed in $seeds; do
    out="probes/$name/seed$seed"
    [ -f "$out/metrics.json" ] && continue
    [ -d "$out" ] && resume=--resume || resume=
    mkdir -p "probes/$name"
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} neurobolt train "cache$seed" --out "$out" \
        --split-sheet sheet_bids.tsv --no-progress --no-baseline --model neurobolt --ensemble 1 $opts $resume \
        > "$out.log" 2>&1
done
