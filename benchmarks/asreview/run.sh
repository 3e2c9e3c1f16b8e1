#!/usr/bin/env bash
# ASReview LAB 3.0.8 side of the peerscreen-vs-ASReview benchmark.
#
#   bash benchmarks/asreview/run.sh                       # all 18 datasets x seeds 0,1,2
#   DATASETS="Donners_2021 Sep_2021" SEEDS="0" bash benchmarks/asreview/run.sh
#   DATA_DIR=/path/to/csvs bash benchmarks/asreview/run.sh
#   COMPARE=1 bash benchmarks/asreview/run.sh             # then run compare.py (peerscreen side)
#
# ASReview lives in its own venv (benchmarks/asreview/.venv); it is never a peerscreen
# dependency. Each simulation is timed on its own (wall clock around the whole CLI call,
# start-up included) and run one at a time. Outputs go to benchmarks/asreview/work/:
# NAME_sS.asreview (the project), NAME_sS.log, NAME_sS.time (seconds), and, from extract.py,
# NAME_sS.order.csv, NAME_sS.priors.txt, NAME_sS.meta.json.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DATA_DIR="${DATA_DIR:-$ROOT/../shared/data/benchmarks}"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"
USER_SEEDS="${SEEDS:-}"
SEEDS="${SEEDS:-0 1 2}"
VENV="$HERE/.venv"
WORK="$HERE/work"
ASREVIEW_VERSION="3.0.8"

USER_DATASETS="${DATASETS:-}"
if [[ -z "${DATASETS:-}" ]]; then
    DATASETS="$(cd "$DATA_DIR" && ls *.csv | sed 's/\.csv$//' | tr '\n' ' ')"
fi

mkdir -p "$WORK"
cd "$WORK"  # asreview's synergy-dataset plugin leaves synergy_cache.sqlite in the working directory
if ! "$VENV/bin/asreview" --version 2>/dev/null | grep -qx "asreview $ASREVIEW_VERSION"; then
    echo "== creating $VENV with asreview==$ASREVIEW_VERSION"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet "asreview==$ASREVIEW_VERSION"
fi
"$VENV/bin/asreview" --version

export MPLBACKEND=Agg
names=()
total_start=$(date +%s.%N)
for name in $DATASETS; do
    csv="$DATA_DIR/$name.csv"
    [[ -f "$csv" ]] || { echo "no such dataset: $csv" >&2; exit 1; }
    for seed in $SEEDS; do
        tag="${name}_s${seed}"
        rm -f "$WORK/$tag.asreview" "$WORK/$tag.time"
        start=$(date +%s.%N)
        # ASReview's defaults otherwise: elas_u4 model, 1 record per query, stop after the last
        # inclusion is found.
        "$VENV/bin/asreview" simulate "$csv" \
            --n-prior-included 1 --n-prior-excluded 1 \
            --prior-seed "$seed" --seed "$seed" \
            -o "$WORK/$tag.asreview" >"$WORK/$tag.log" 2>&1 \
            || { echo "asreview failed on $tag, see $WORK/$tag.log" >&2; exit 1; }
        end=$(date +%s.%N)
        secs=$(python3 -c "print(f'{$end - $start:.3f}')")
        echo "$secs" >"$WORK/$tag.time"
        printf '%-42s %8s s\n' "$tag" "$secs"
        names+=("$tag")
    done
done
total_end=$(date +%s.%N)
python3 -c "print(f'ASReview total wall time: {$total_end - $total_start:.1f} s for ${#names[@]} simulations')"

"$VENV/bin/python" "$HERE/extract.py" "$DATA_DIR" "$WORK" "${names[@]}"

if [[ "${COMPARE:-0}" == "1" ]]; then
    # Pass on only what the caller set, so compare.py reports the command as it was typed.
    env -u DATASETS -u SEEDS ${USER_DATASETS:+DATASETS="$USER_DATASETS"} ${USER_SEEDS:+SEEDS="$USER_SEEDS"} \
        DATA_DIR="$DATA_DIR" "$ROOT/.venv/bin/python" "$HERE/compare.py"
fi
