#!/usr/bin/env bash
# Draws the game's round trips over time, one line per path, from the series files
# bench/realtime_bench.sh writes into its OUT_DIR (one file per case and path: "time_s rtt_ms"
# per line, "lost" for a datagram that never came back: a gap in its line).
#   bench/plot_realtime.sh OUT_SVG TITLE FILE:LABEL...
set -euo pipefail
out=${1:?output .svg}
title=${2:?title}
shift 2
command -v gnuplot >/dev/null || { echo "plot_realtime: gnuplot is not installed"; exit 1; }
plots=()
for spec in "$@"; do
  file=${spec%%:*}
  label=${spec#*:}
  plots+=("'$file' using 1:2 with lines title '$label'")
done
{
  echo "set terminal svg size 900,420 dynamic background rgb 'white' font 'sans,11'"
  echo "set output '$out'"
  echo "set title '$title'"
  echo "set xlabel 'time (s)'"
  echo "set ylabel 'game round trip (ms)'"
  echo "set logscale y"
  echo "set grid"
  echo "set key outside right"
  printf 'plot %s\n' "$(IFS=,; echo "${plots[*]}")"
} | gnuplot
