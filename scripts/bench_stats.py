#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Numbers for scripts/bench.sh: reads iperf3 and ping output, and turns the
samples the benchmark collected into its table and JSON file.

  bench_stats.py iperf FILE          -> "BITS_PER_SECOND BYTES" (receiver)
  bench_stats.py ping FILE           -> "P50_MS P99_MS REPLIES"
  bench_stats.py sa-bytes NAME       -> bytes of SA NAME ("sa list" JSON, stdin)
  bench_stats.py sa-algs             -> the algorithms of those SAs
  bench_stats.py xdp-prog            -> "MODE PROG" ("ip -j -d link", stdin)
  bench_stats.py report SAMPLES JSON -> prints the table, writes JSON

SAMPLES holds tab-separated lines "ROW KEY VALUE".  KEY is a metric (one
line per run), "label", "xdp" (the mode of the gateways' XDP program),
"status" ("ok" or why the row failed) or, for row "-", a setting of the
whole run.
"""
import json
import math
import statistics
import sys

# Metric key, column title, unit, digits.
METRICS = [
    ("tcp1_gbps", "TCP x1", "Gbit/s", 2),
    ("tcp4_gbps", "TCP x4", "Gbit/s", 2),
    ("rtt_p50_ms", "RTT p50", "ms", 3),
    ("rtt_p99_ms", "RTT p99", "ms", 3),
    ("cpu_s_per_gb", "CPU", "s/GB", 2),
]
REFERENCE = "plain"


def percentile(values, pct):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def cmd_iperf(path):
    with open(path) as f:
        data = json.load(f)
    if data.get("error"):
        sys.exit("iperf3: " + data["error"])
    recv = data["end"]["sum_received"]
    print("%.0f %d" % (recv["bits_per_second"], recv["bytes"]))


def cmd_ping(path):
    rtts = []
    with open(path) as f:
        for line in f:
            for word in line.split():
                if word.startswith("time="):
                    rtts.append(float(word[5:]))
    if not rtts:
        sys.exit("ping: no replies")
    print("%.4f %.4f %d" % (percentile(rtts, 50), percentile(rtts, 99),
                            len(rtts)))


def cmd_sa_bytes(name):
    for sa in json.load(sys.stdin):
        if sa["name"] == name:
            print(sa["bytes"])
            return
    sys.exit("no SA " + name)


def cmd_sa_algs():
    print(*sorted({sa["alg"] for sa in json.load(sys.stdin)}))


def cmd_xdp_prog():
    link = json.load(sys.stdin)[0]
    xdp = link.get("xdp")
    if not xdp:
        print("none -")
        return
    mode = {1: "native", 2: "generic", 3: "offload"}.get(xdp.get("mode"),
                                                        "multi")
    print(mode, xdp.get("prog", {}).get("name", "-"))


def read_samples(path):
    settings, rows, order = {}, {}, []
    with open(path) as f:
        for line in f:
            row, key, value = line.rstrip("\n").split("\t", 2)
            if row == "-":
                settings[key] = value
                continue
            if row not in rows:
                rows[row] = {"name": row, "label": row, "xdp": "?",
                             "status": "incomplete", "runs": {}}
                order.append(row)
            r = rows[row]
            if key == "label":
                r["label"] = value
            elif key == "xdp":
                r["xdp"] = value
            elif key == "status":
                r["status"] = value
            else:
                r["runs"].setdefault(key, []).append(float(value))
    return settings, [rows[name] for name in order]


def summarise(rows):
    """Median, min and max per metric; a failed row keeps no numbers."""
    for r in rows:
        r["metrics"] = {}
        if r["status"] != "ok":
            continue
        for key, _, _, _ in METRICS:
            runs = r["runs"].get(key)
            if runs:
                r["metrics"][key] = {"median": statistics.median(runs),
                                     "min": min(runs), "max": max(runs),
                                     "runs": runs}
    ref = next((r for r in rows if r["name"] == REFERENCE), None)
    for r in rows:
        for key, m in r["metrics"].items():
            base = ref["metrics"].get(key) if ref else None
            if base and base["median"]:
                m["ratio"] = m["median"] / base["median"]


def cells(r):
    """The row's cells: label, then value and ratio per metric."""
    out = [r["label"]]
    if r["status"] != "ok":
        return out + ["no figures: " + r["status"]]
    for key, _, _, digits in METRICS:
        m = r["metrics"].get(key)
        if not m:
            out += ["-", "-"]
            continue
        out.append("%.*f [%.*f-%.*f]" % (digits, m["median"], digits,
                                         m["min"], digits, m["max"]))
        out.append("%.2f" % m["ratio"] if "ratio" in m else "-")
    return out


def print_table(settings, rows):
    print("%s, %s run(s) per row: TCP %s s h1 -> h2, %s pings at %s ms."
          % (settings.get("date", "?"), settings.get("runs"),
             settings.get("seconds"), settings.get("pings"),
             "%g" % float(settings.get("ping_interval_ms", "nan"))))
    print("Cells: median [min-max]; x: the median divided by plain "
          "routing's.  CPU: busy core-seconds")
    print("of the whole machine (all namespaces share its %s CPUs) per GB "
          "received, 1-stream test." % settings.get("cpus", "?"))
    head = ["row"]
    for _, title, unit, _ in METRICS:
        head += ["%s %s" % (title, unit), "x"]
    table = [head] + [cells(r) for r in rows]
    full = [line for line in table if len(line) == len(head)]
    widths = [max(len(line[i]) for line in full) for i in range(len(head))]
    for line in table:
        if len(line) < len(head):	# a failed row: one long cell
            print(line[0].ljust(widths[0]) + "  " + line[1])
            continue
        text = [line[0].ljust(widths[0])]
        for i in range(1, len(line), 2):
            text.append(line[i].ljust(widths[i]))
            text.append(line[i + 1].rjust(widths[i + 1]))
        print("  ".join(text).rstrip())
    modes = {r["xdp"] for r in rows if r["xdp"] != "none"}
    if len(modes) == 1:
        print("XDP on the gateways' interfaces: %s mode." % modes.pop())
    elif modes:
        print("XDP modes differ: " + ", ".join(
            "%s %s" % (r["label"], r["xdp"]) for r in rows))


def cmd_report(samples, out):
    settings, rows = read_samples(samples)
    summarise(rows)
    print_table(settings, rows)
    doc = {"settings": settings, "reference": REFERENCE,
           "units": {k: u for k, _, u, _ in METRICS}, "rows": []}
    for r in rows:
        doc["rows"].append({k: r[k] for k in
                            ("name", "label", "status", "xdp", "metrics")})
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def main(argv):
    cmds = {"iperf": cmd_iperf, "ping": cmd_ping, "sa-bytes": cmd_sa_bytes,
            "sa-algs": cmd_sa_algs,
            "xdp-prog": cmd_xdp_prog, "report": cmd_report}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    return cmds[argv[1]](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
