#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Numbers for scripts/bench.sh: reads iperf3 and ping output, and turns the
samples the benchmark collected into its tables, JSON file and chart.

  bench_stats.py iperf FILE          -> "BITS_PER_SECOND BYTES" (TCP receiver)
  bench_stats.py udp FILE            -> "SENT_BPS BPS BYTES PPS LOSS_PCT": the
                                        offered rate, then the UDP receiver's
  bench_stats.py ping FILE           -> "P50_MS P99_MS REPLIES"
  bench_stats.py sa-bytes NAME       -> SA NAME's bytes ("sa list" JSON, stdin)
  bench_stats.py sa-algs             -> the algorithms of those SAs
  bench_stats.py xdp-prog            -> "MODE PROG" ("ip -j -d link", stdin)
  bench_stats.py report SAMPLES JSON -> prints the tables, writes JSON and,
                                        with matplotlib, bench.png beside it

SAMPLES holds tab-separated lines "ROW KEY VALUE".  KEY is a metric of
METRICS (one line per run), "label", "kind" (the row's kind of setup),
"xdp" (the mode of the gateways' XDP program), "status" ("ok" or why the
row failed), "udp_probe" (one probe of the UDP goodput search: "RATE
SENT_BPS BPS LOSS_PCT", RATE 0 for the unpaced probe that starts a search)
or, for row "-", a setting of the whole run.

The report gives, per row and metric, the median over runs with the lowest
and highest run; the spread of a cell is (highest - lowest) / median.  For
every xdpsec row (kind "xdpsec" or "openssl", or a name starting with
"xdpsec-") it gives the ratio of its medians to those of every other row,
all as plain value ratios, whichever direction of the metric is better.  The JSON file
holds the settings, each row's runs, summaries (with "ratio" to the
REFERENCE row) and UDP searches, and that matrix of ratios.
"""
import json
import math
import os
import statistics
import sys

HIGHER, LOWER = "higher", "lower"

# Metric key, title, unit, digits, which values are better.  The UDP
# titles name the datagram sizes that bench.sh uses (UDP_LEN, PPS_LEN).
METRICS = [
    ("tcp1_gbps", "TCP x1", "Gbit/s", 2, HIGHER),
    ("tcp4_gbps", "TCP x4", "Gbit/s", 2, HIGHER),
    ("udp_gbps", "UDP 1400", "Gbit/s", 2, HIGHER),
    ("pps_mpps", "UDP 64", "Mpps", 3, HIGHER),
    ("pps_loss_pct", "UDP 64 loss", "%", 2, LOWER),
    ("rtt_p50_ms", "RTT p50", "ms", 3, LOWER),
    ("rtt_p99_ms", "RTT p99", "ms", 3, LOWER),
    ("cpu_s_per_gb", "CPU", "s/GB", 2, LOWER),
]
REFERENCE = "plain"
CHART = "bench.png"


def percentile(values, pct):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def load_iperf(path):
    with open(path) as f:
        try:
            data = json.load(f)
        except ValueError:
            sys.exit("iperf3: no JSON output")
    if data.get("error"):
        sys.exit("iperf3: " + data["error"])
    return data


def cmd_iperf(path):
    recv = load_iperf(path)["end"]["sum_received"]
    print("%.0f %d" % (recv["bits_per_second"], recv["bytes"]))


def cmd_udp(path):
    """The loss is the share of the datagrams sent that the receiver did
    not count: iperf3's own figure, the gaps in the sequence the receiver
    saw, misses those still queued (or dropped) after the last that
    arrived, and a receiver that falls behind leaves many there."""
    end = load_iperf(path)["end"]
    sent, recv = end.get("sum_sent"), end.get("sum_received")
    if not sent or not recv:
        sys.exit("iperf3: no UDP receiver summary")
    arrived = max(0, recv["packets"] - max(0, recv["lost_packets"]))
    if sent["packets"]:
        loss = 100.0 * max(0, sent["packets"] - arrived) / sent["packets"]
    else:
        loss = 100.0
    seconds = recv["seconds"] or sent["seconds"]
    pps = arrived / seconds if seconds else 0.0
    print("%.0f %.0f %d %.0f %.6f" % (sent["bits_per_second"],
                                      recv["bits_per_second"],
                                      recv["bytes"], pps, loss))


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
                rows[row] = {"name": row, "label": row, "kind": "?",
                             "xdp": "?", "status": "incomplete",
                             "runs": {}, "udp_searches": []}
                order.append(row)
            r = rows[row]
            if key in ("label", "kind", "xdp", "status"):
                r[key] = value
            elif key == "udp_probe":
                add_probe(r["udp_searches"], value)
            else:
                r["runs"].setdefault(key, []).append(float(value))
    return settings, [rows[name] for name in order]


def add_probe(searches, value):
    """A probe at rate 0 (unpaced) starts a search."""
    rate, sent, received, loss = value.split()
    if rate == "0" or not searches:
        searches.append([])
    searches[-1].append({"rate": int(rate), "sent_bps": float(sent),
                         "received_bps": float(received),
                         "loss_pct": float(loss)})


def is_xdpsec(r):
    return (r["kind"] in ("xdpsec", "openssl")
            or r["name"].startswith("xdpsec-"))


def ratio(a, b):
    """A / B of two summaries' medians; None where it has no meaning."""
    if not a or not b or not b["median"]:
        return None
    return a["median"] / b["median"]


def summarise(rows):
    """Median, min, max and spread per metric; a failed row keeps no
    numbers.  Returns the matrix of each xdpsec row's ratios."""
    for r in rows:
        r["metrics"] = {}
        if r["status"] != "ok":
            continue
        for key, _, _, _, _ in METRICS:
            runs = r["runs"].get(key)
            if not runs:
                continue
            m = {"median": statistics.median(runs), "min": min(runs),
                 "max": max(runs), "runs": runs}
            m["spread"] = ((m["max"] - m["min"]) / m["median"]
                           if m["median"] else None)
            r["metrics"][key] = m
    ref = next((r for r in rows if r["name"] == REFERENCE), None)
    for r in rows:
        for key, m in r["metrics"].items():
            q = ratio(m, ref["metrics"].get(key)) if ref else None
            if q is not None:
                m["ratio"] = q
    matrix = {}
    for x in rows:
        if not is_xdpsec(x) or not x["metrics"]:
            continue
        matrix[x["name"]] = {
            o["name"]: {key: ratio(x["metrics"].get(key),
                                   o["metrics"].get(key))
                        for key, _, _, _, _ in METRICS}
            for o in rows if o is not x and o["metrics"]}
    return matrix


def layout(lines):
    """Aligns a table: the first column to the left, the others to the
    right.  A line of two cells is a row's name and a note."""
    width = len(max(lines, key=len))
    full = [line for line in lines if len(line) == width]
    widths = [max(len(line[i]) for line in full) for i in range(width)]
    widths[0] = max(len(line[0]) for line in lines)
    out = []
    for line in lines:
        if len(line) < width:
            out.append(line[0].ljust(widths[0]) + "  " + " ".join(line[1:]))
            continue
        text = [line[0].ljust(widths[0])]
        text += [c.rjust(widths[i + 1]) for i, c in enumerate(line[1:])]
        out.append("  ".join(text).rstrip())
    print("\n".join(out))


def fmt(value, digits):
    return "-" if value is None else "%.*f" % (digits, value)


def print_settings(settings, rows):
    print("%s: %s run(s) per row, h1 -> h2: TCP %s s; UDP probes %s s, at "
          "most %s a search;" % (settings.get("date", "?"),
                                 settings.get("runs"),
                                 settings.get("seconds"),
                                 settings.get("seconds_udp", "?"),
                                 settings.get("udp_probes", "?")))
    print("%s pings %g ms apart; %s CPUs, kernel %s."
          % (settings.get("pings"),
             float(settings.get("ping_interval_ms", "nan")),
             settings.get("cpus", "?"), settings.get("kernel", "?")))
    print()
    width = max(len(r["name"]) for r in rows) if rows else 0
    for r in rows:
        xdp = r["xdp"] not in ("none", "?")
        print("%-*s  %s%s" % (width, r["name"], r["label"],
                              ", XDP in %s mode" % r["xdp"] if xdp else ""))


def print_medians(settings, rows):
    print("\nMedians over runs; under each unit, which values are better.")
    lines = [["row"] + [t for _, t, _, _, _ in METRICS],
             [""] + [u for _, _, u, _, _ in METRICS],
             [""] + [b for _, _, _, _, b in METRICS]]
    for r in rows:
        if r["status"] != "ok":
            lines.append([r["name"], "no figures: " + r["status"]])
            continue
        lines.append([r["name"]] + [
            fmt(r["metrics"].get(k, {}).get("median"), d)
            for k, _, _, d, _ in METRICS])
    layout(lines)
    print("UDP 1400: the receiver's goodput of %s-byte datagrams at the "
          "highest offered rate" % settings.get("udp_len", "?"))
    print("found to lose under %s %% (0: none did).  UDP 64: datagrams "
          "of %s bytes sent as fast as"
          % (settings.get("udp_max_loss_pct", "?"),
             settings.get("pps_len", "?")))
    print("iperf3 can, received per second, and the share lost.  CPU: "
          "busy core-seconds of the")
    print("whole machine (all namespaces share its CPUs) per GB received "
          "in the TCP x1 test.")


def print_spreads(rows):
    ok = [r for r in rows if r["metrics"]]
    if not ok or max(len(v) for r in ok for v in r["runs"].values()) < 2:
        return
    print("\nSpread over runs: (highest - lowest) / median, in %.")
    lines = [["row"] + [t for _, t, _, _, _ in METRICS]]
    for r in ok:
        lines.append([r["name"]] + [
            fmt(None if r["metrics"].get(k, {}).get("spread") is None
                else 100 * r["metrics"][k]["spread"], 0)
            for k, _, _, _, _ in METRICS])
    layout(lines)


def print_ratios(rows, matrix):
    for name, others in matrix.items():
        print("\n%s / other row, ratio of medians; under each metric, "
              "which values are better." % name)
        lines = [["other row"] + [t for _, t, _, _, _ in METRICS],
                 [""] + [b for _, _, _, _, b in METRICS]]
        for other, cells in others.items():
            lines.append([other] + [fmt(cells[k], 2)
                                    for k, _, _, _, _ in METRICS])
        layout(lines)
    failed = [r["name"] for r in rows if not r["metrics"]]
    if matrix:
        print("-: no figure, or the other row's median is 0.")
        if failed:
            print("Left out, without figures: %s." % ", ".join(failed))
    xs = [r["name"] for r in rows if is_xdpsec(r) and not r["metrics"]]
    if xs:
        print("\nNo ratios for %s: no figures." % ", ".join(xs))


def write_chart(settings, rows, path):
    """One panel per metric, a bar per row: the median, with whiskers from
    the lowest to the highest run."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\nNo chart: %s has no matplotlib (Debian: python3-matplotlib,"
              " scripts/install-deps.sh)." % sys.executable)
        return
    cols = 2
    high = 0.28 * len(rows) + 1.2	# inches per panel, a bar a row
    fig, axes = plt.subplots(math.ceil(len(METRICS) / cols), cols,
                             figsize=(7 * cols, high * len(METRICS) / cols),
                             squeeze=False)
    names = [r["name"] + ("" if r["metrics"] else " (no figures)")
             for r in rows]
    for ax, (key, title, unit, _, better) in zip(axes.flat, METRICS):
        for i, r in enumerate(rows):
            m = r["metrics"].get(key)
            if not m:
                continue
            ax.barh(i, m["median"],
                    xerr=[[m["median"] - m["min"]], [m["max"] - m["median"]]],
                    capsize=3, color="tab:orange" if is_xdpsec(r)
                    else "tab:blue")
        ax.set_title("%s, %s (%s is better)" % (title, unit, better),
                     fontsize=10)
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(names, fontsize=8)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    for ax in axes.flat[len(METRICS):]:
        ax.axis("off")
    fig.suptitle("xdpsec bench %s: median of %s run(s), whiskers lowest to "
                 "highest run; orange: xdpsec rows"
                 % (settings.get("date", "?"), settings.get("runs", "?")))
    # Half an inch at the top for the title.
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print("\nChart: " + path)


def cmd_report(samples, out):
    settings, rows = read_samples(samples)
    matrix = summarise(rows)
    print_settings(settings, rows)
    print_medians(settings, rows)
    print_spreads(rows)
    print_ratios(rows, matrix)
    doc = {"settings": settings, "reference": REFERENCE,
           "metrics": {k: {"title": t, "unit": u, "better": b}
                       for k, t, u, _, b in METRICS},
           "units": {k: u for k, _, u, _, _ in METRICS}, "rows": [],
           "ratios": matrix}
    for r in rows:
        doc["rows"].append({k: r[k] for k in ("name", "label", "kind",
                                              "status", "xdp", "metrics",
                                              "udp_searches")})
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    write_chart(settings, rows, os.path.join(os.path.dirname(out), CHART))
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def main(argv):
    cmds = {"iperf": cmd_iperf, "udp": cmd_udp, "ping": cmd_ping,
            "sa-bytes": cmd_sa_bytes, "sa-algs": cmd_sa_algs,
            "xdp-prog": cmd_xdp_prog, "report": cmd_report}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    return cmds[argv[1]](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
