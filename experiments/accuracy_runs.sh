#!/usr/bin/env bash
# The runs behind the README's accuracy section: 3 simulator seeds x 2 layouts (BIDS and the
# NeuroBOLT release layout of the same study), 6 subjects x 10 min each; sub-01..04 train, sub-05
# validates (every choice: epoch, step, penalty), sub-06 is the held-out test subject.
#
#   bash experiments/accuracy_runs.sh WORKDIR [ROWS...]
#
# ROWS (default: all): spoc spoc1 nb_scratch nb_scratch_mean nb_finetune nb_scratch_x3 spoc_test05
#   nb_test05 nb_scratch_raw nb_scratch_raw_mean nb_scratch_raw_x3 nb_spec nb_spec_x3
#   nb_scratch_x2 nb_test05_x2 nb_scratch_x2s3 (the last: members 4 and 5 of the network's
#   ensembles; with nb_scratch_x3, the ensembles of up to 5 networks of experiments/ensemble_size.py)
# The *_raw rows are the from-scratch recipe as it was before --spectral-norm recording and batch 16
# became its defaults (the README's earlier network rows).
# spoc_test05 (and nb_test05, the network) is the default model and ridge with the roles of two
# subjects swapped (sub-05 is the test subject, sub-06 validates): a second held-out subject per
# seed, BIDS layout only.
# Each run is an ordinary `neurobolt train` run folder WORKDIR/runs/<study>/<row>; a finished run
# is kept, an unfinished one is resumed (rerunning the script only adds what is missing).
# STUDIES="seed1-bids seed2-bids" (environment) limits the runs to those studies. Then:
#   python experiments/accuracy_table.py WORKDIR
set -euo pipefail
work=${1:?usage: accuracy_runs.sh WORKDIR [ROWS...]}
shift
rows=("${@:-spoc spoc1 nb_scratch nb_scratch_mean nb_finetune nb_scratch_x3 spoc_test05 nb_test05 nb_scratch_raw nb_scratch_raw_mean nb_scratch_raw_x3 nb_spec nb_spec_x3 nb_scratch_x2 nb_test05_x2 nb_scratch_x2s3}")
rows=(${rows[@]})
mkdir -p "$work/runs"
cd "$work"

printf 'subject\tsplit\nsub-01\ttrain\nsub-02\ttrain\nsub-03\ttrain\nsub-04\ttrain\nsub-05\tval\nsub-06\ttest\n' > sheet_bids.tsv
printf 'subject\tsplit\nsub01\ttrain\nsub02\ttrain\nsub03\ttrain\nsub04\ttrain\nsub05\tval\nsub06\ttest\n' > sheet_release.tsv
printf 'subject\tsplit\nsub-01\ttrain\nsub-02\ttrain\nsub-03\ttrain\nsub-04\ttrain\nsub-06\tval\nsub-05\ttest\n' > sheet_bids_test05.tsv

options() {  # the train options of a row
    case "$1" in
        spoc) echo "" ;;                                   # the default: a spoc ensemble
        spoc1) echo "--ensemble 1" ;;                      # one spoc network
        # the from-scratch recipe (spectra relative to each recording, batch 16, queries), with
        # --precision auto: bf16 autocast on a CPU with native bf16 (avx512_bf16 here)
        nb_scratch) echo "--model neurobolt --ensemble 1" ;;   # one network (the default is 2)
        nb_scratch_mean) echo "--model neurobolt --ensemble 1 --readout mean" ;;
        nb_scratch_x3) echo "--model neurobolt --ensemble 3" ;;
        # two networks, the number validation chose (experiments/ensemble_size.py); the BIDS
        # layout's are the first two members of nb_scratch_x3, so this row runs the release layout
        nb_scratch_x2) echo "--model neurobolt --ensemble 2" ;;
        # the earlier network rows, in fp32: the published recipe, and the from-scratch recipe
        # before its spectral normalisation and batch of 16
        nb_finetune) echo "--model neurobolt --recipe finetune --precision fp32" ;;
        nb_scratch_raw) echo "--model neurobolt --spectral-norm none --batch-size 64 --precision fp32 --ensemble 1" ;;
        nb_scratch_raw_mean) echo "--model neurobolt --spectral-norm none --batch-size 64 --readout mean --precision fp32 --ensemble 1" ;;
        nb_scratch_raw_x3) echo "--model neurobolt --spectral-norm none --batch-size 64 --ensemble 3 --precision fp32" ;;
        spoc_test05) echo "" ;;                            # the default, another test subject
        nb_test05) echo "--model neurobolt --ensemble 1" ;;  # one network, another test subject
        nb_test05_x2) echo "--model neurobolt --ensemble 2" ;;  # two networks, another test subject
        # the network's spectral branch alone, 12 epochs (chosen on validation by
        # experiments/scratch_recipe_probe.sh), one network and an ensemble of 3
        nb_spec) echo "--model neurobolt --branches spectral --epochs 12 --ensemble 1" ;;
        nb_spec_x3) echo "--model neurobolt --branches spectral --epochs 12 --ensemble 3" ;;
        # two more networks (seeds 3 and 4) beside nb_scratch_x3's (seeds 0-2): members 4 and 5
        nb_scratch_x2s3) echo "--model neurobolt --ensemble 2 --seed 3 --no-baseline" ;;
        *) echo "unknown row $1" >&2; exit 2 ;;
    esac
}

for seed in 1 2 3; do
    [ -d "sim$seed" ] || neurobolt simulate "sim$seed" --subjects 6 --minutes 10 --seed "$seed" \
        --layout neurobolt --no-progress
    [ -f "cache$seed/dataset.json" ] || neurobolt prepare "sim$seed" --out "cache$seed" --no-progress
    [ -f "cache${seed}r/dataset.json" ] || neurobolt prepare "sim$seed/neurobolt_release" \
        --out "cache${seed}r" --no-progress
done

for row in "${rows[@]}"; do
    for seed in 1 2 3; do
        for layout in bids release; do
            if [ "$layout" = bids ]; then cache="cache$seed"; else cache="cache${seed}r"; fi
            study="seed$seed-$layout"
            if [ -n "${STUDIES:-}" ] && [[ " $STUDIES " != *" $study "* ]]; then continue; fi
            # an ensemble of networks costs three network runs: the BIDS layout only
            [[ "$row" = *_x3 || "$row" = *_x2s3 ]] && [ "$layout" = release ] && continue
            [ "$row" = nb_scratch_x2 ] && [ "$layout" = bids ] && continue
            [[ "$row" = *_test05* ]] && [ "$layout" = release ] && continue
            sheet="sheet_$layout.tsv"
            [[ "$row" = *_test05* ]] && sheet=sheet_bids_test05.tsv
            out="runs/$study/$row"
            [ -f "$out/metrics.json" ] && continue
            [ -d "$out" ] && resume=--resume || resume=
            mkdir -p "runs/$study"
            # shellcheck disable=SC2046
            neurobolt train "$cache" --out "$out" --split-sheet "$sheet" --no-progress \
                $(options "$row") $resume > "runs/$study/$row.log" 2>&1
        done
    done
done
