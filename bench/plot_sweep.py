#!/usr/bin/env python3
"""Turns `udp_tunnel_bench --sweep --json` output into a delivered-vs-offered plot (SVG, via
gnuplot) and a table, and writes both into docs/BENCHMARKS.md between its sweep markers.
  udp_tunnel_bench --sweep --json | plot_sweep.py DOCS_DIR"""
import json
import os
import subprocess
import sys
import tempfile
import time

docs = sys.argv[1]
text = sys.stdin.read()
result = json.loads(text[text.rindex("\n{"):])  # the JSON object is the last line
rows = result["loads"]
sizes = sorted({r["size"] for r in rows})

with tempfile.TemporaryDirectory() as tmp:
    plots = []
    for i, size in enumerate(sizes):
        points = sorted((r for r in rows if r["size"] == size), key=lambda r: r["sent_per_s"])
        for kind, sent, got in (("udptun", "sent_per_s", "delivered_per_s"),
                                ("raw UDP", "raw_sent_per_s", "raw_udp_per_s")):
            path = os.path.join(tmp, f"{size}-{kind.replace(' ', '_')}.dat")
            with open(path, "w") as f:
                for r in sorted(points, key=lambda r: r[sent]):
                    f.write(f"{r[sent] / 1000:.1f} {r[got] / 1000:.1f}\n")
            style = "lp pt 7" if kind == "udptun" else "lp dt 2 pt 6"
            plots.append(f"'{path}' using 1:2 with {style} lc {i + 1} title '{size} B, {kind}'")
    svg = os.path.join(docs, "benchmarks", "relay-delivered-vs-offered.svg")
    os.makedirs(os.path.dirname(svg), exist_ok=True)
    script = f"""
set terminal svg size 760,440 dynamic font 'sans,11' background '#ffffff'
set output '{svg}'
set title 'udp-local <-> udp-server on loopback: delivered vs offered (2 cores shared)'
set xlabel 'offered (k datagrams/s)'
set ylabel 'delivered (k datagrams/s)'
set key left top
set grid
plot x with lines lc rgb '#bbbbbb' dt 3 title 'all delivered', \\
  {', '.join(plots)}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)

lines = [
    "<!-- sweep:begin (written by scripts/bench --plot; do not edit by hand) -->",
    f"Delivered vs offered, udp-local ⇄ udp-server on loopback, beside raw UDP in the same run "
    f"({time.strftime('%Y-%m-%d')}; plain TCP over loopback: "
    f"{result['tcp_loopback_gbit_s']:.1f} Gbit/s; echo p50/p99: tunnel "
    f"{result['echo']['tunnel_p50_us']:.0f}/{result['echo']['tunnel_p99_us']:.0f} µs, direct "
    f"{result['echo']['direct_p50_us']:.0f}/{result['echo']['direct_p99_us']:.0f} µs):",
    "",
    "![delivered vs offered](benchmarks/relay-delivered-vs-offered.svg)",
    "",
    "| size | offered /s | udptun delivered /s | % | raw UDP delivered /s | vs raw |",
    "|---|---|---|---|---|---|",
]
for r in rows:
    offered = f"{r['rate']:,.0f}" if r["rate"] else f"unpaced ({r['sent_per_s']:,.0f})"
    ratio = r["delivered_per_s"] / r["raw_udp_per_s"] if r["raw_udp_per_s"] else 0
    lines.append(f"| {r['size']} B | {offered} | {r['delivered_per_s']:,.0f} | "
                 f"{r['delivered_pct']:.1f}% | {r['raw_udp_per_s']:,.0f} | {ratio:.2f}× |")
lines.append("<!-- sweep:end -->")
section = "\n".join(lines)

md_path = os.path.join(docs, "BENCHMARKS.md")
md = open(md_path).read()
begin, end = md.find("<!-- sweep:begin"), md.find("<!-- sweep:end -->")
if begin >= 0 and end > begin:
    md = md[:begin] + section + md[end + len("<!-- sweep:end -->"):]
else:
    md = md.rstrip("\n") + "\n\n## Delivered vs offered\n\n" + section + "\n"
open(md_path, "w").write(md)
print(f"plot_sweep: wrote {svg} and the sweep section of {md_path}")
