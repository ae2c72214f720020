# iperf3 -J readers, sourced by tun_bench.sh and hev_bench.sh (so both are read alike).
gbit() {  # iperf3 JSON → Gbit/s received
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))' 2>/dev/null || echo "?"
}
udp_summary() {  # iperf3 -u JSON → "datagrams/s delivered, loss %"
  python3 -c 'import json,sys; d=json.load(sys.stdin); s=d["end"]["sum"]; secs=s["seconds"]; pk=s["packets"]; lost=s["lost_packets"]; print("%.0f %.2f" % ((pk-lost)/secs, s["lost_percent"]))' 2>/dev/null || echo "? ?"
}
