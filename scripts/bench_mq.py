#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Numbers for scripts/bench_mq.sh: counter snapshots of the two gateways,
the path check and work split of one iperf3 test, the perf profile, and the
final table and JSON.

  bench_mq.py snapshot TOPO BUILD FILE      -> counters of both gateways
  bench_mq.py check TOPO BUILD QUEUES ALG   -> fails unless set up as said
  bench_mq.py tcp SETUP STREAMS IPERF[,IPERF] BEFORE AFTER
                                            -> sample lines, or why not
  bench_mq.py perf SYMS REPORT...           -> sample lines of the profile
  bench_mq.py report SAMPLES JSON           -> prints the table, writes JSON

SAMPLES holds tab-separated lines "SETUP KEY VALUE"; SETUP "-" holds
settings of the whole run.  Setups are named by their queue count ("q1",
"q2"); "perf" holds the profile.
"""
import json
import statistics
import subprocess
import sys

GATEWAYS = ("gw1", "gw2")
IFACES = ("lan", "wan")
# Where the h1 -> h2 data enters workers: plaintext on gw1's LAN side, ESP
# on gw2's WAN side.  The counter that says a worker did that work.
DATA_PATH = (("gw1", "lan", "esp_encrypted"), ("gw2", "wan", "esp_decrypted"))
DROPS = ("drop_replay_xdp", "drop_replay", "drop_auth", "drop_tx_full")


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True).stdout


def cli(topo, build, gw, *args):
    return json.loads(run(build + "/xdpsec", "-n", "%s-%s" % (topo, gw),
                          "--json", *args))


def nsx(topo, name, *cmd):
    return run("ip", "netns", "exec", "%s-%s" % (topo, name), *cmd)


def queue_redirects(topo, gw, iface):
    """Frames XDP redirected to a socket, per RX queue of the veth."""
    per_queue = {}
    for line in nsx(topo, gw, "ethtool", "-S", iface).splitlines():
        name, _, value = line.strip().partition(": ")
        if name.startswith("rx_queue_") and name.endswith("_xdp_redirect"):
            per_queue[int(name.split("_")[2])] = int(value)
    return [per_queue[q] for q in sorted(per_queue)]


def worker_rows(topo, build, gw, names):
    """Each worker's counters, named, with the socket it serves.  Workers
    are numbered interface by interface, queue by queue (xdpsecd.c)."""
    status = cli(topo, build, gw, "status")
    owners = [(i["name"], q) for i in status["interfaces"]
              for q in range(i["queues"])]
    map_id = next(m["id"] for m in status["maps"] if m["name"] == "wstats")
    dump = json.loads(run("bpftool", "-j", "map", "dump", "id",
                          str(map_id)))
    rows = []
    for entry in dump:
        wid = int.from_bytes(bytes(int(b, 16) for b in entry["key"]),
                             "little")
        if wid >= len(owners):
            continue
        raw = bytes(int(b, 16) for b in entry["value"])
        cnt = [int.from_bytes(raw[i:i + 8], "little")
               for i in range(0, len(raw), 8)]
        # "stats" lists counters in index order from 1 (ctl.c).
        rows.append({"id": wid, "iface": owners[wid][0],
                     "queue": owners[wid][1],
                     "counters": {n: cnt[i + 1] for i, n in enumerate(names)
                                  if i + 1 < len(cnt)}})
    return sorted(rows, key=lambda r: r["id"])


def cmd_snapshot(topo, build, path):
    snap = {"wire": int(nsx(topo, "sw", "cat",
                            "/sys/class/net/p1/statistics/rx_bytes")),
            "sa_bytes": {}, "queues": {}, "workers": {}, "counters": {}}
    for gw in GATEWAYS:
        counters = cli(topo, build, gw, "stats")["counters"]
        snap["counters"][gw] = counters
        snap["workers"][gw] = worker_rows(topo, build, gw, list(counters))
        for sa in cli(topo, build, gw, "sa", "list"):
            snap["sa_bytes"]["%s/%s" % (gw, sa["name"])] = sa["bytes"]
        for iface in IFACES:
            snap["queues"]["%s/%s" % (gw, iface)] = \
                queue_redirects(topo, gw, iface)
    with open(path, "w") as f:
        json.dump(snap, f)


def cmd_check(topo, build, queues, alg):
    queues = int(queues)
    for gw in GATEWAYS:
        status = cli(topo, build, gw, "status")
        if status["workers"] != queues * len(IFACES):
            sys.exit("%s: %d workers, expected %d" %
                     (gw, status["workers"], queues * len(IFACES)))
        for i in status["interfaces"]:
            if i["queues"] != queues:
                sys.exit("%s %s: %d queues" % (gw, i["name"], i["queues"]))
        for iface in IFACES:
            link = json.loads(run("ip", "-n", "%s-%s" % (topo, gw), "-j",
                                  "-d", "link", "show", "dev", iface))[0]
            prog = link.get("xdp", {}).get("prog", {}).get("name", "-")
            if prog != "xdpsec_xdp":
                sys.exit("%s %s: XDP program %s" % (gw, iface, prog))
        algs = {sa["alg"] for sa in cli(topo, build, gw, "sa", "list")}
        if algs != {alg}:
            sys.exit("%s: SAs use %s" % (gw, " ".join(sorted(algs))))


def shares(values):
    total = sum(values)
    return [v / total if total else 0.0 for v in values]


def iperf_received(paths):
    """Bits per second and bytes that the clients' servers received."""
    bps, nbytes = 0.0, 0
    for path in paths.split(","):
        with open(path) as f:
            try:
                result = json.load(f)
            except ValueError:
                sys.exit("iperf3: no result in " + path)
        if result.get("error"):
            sys.exit("iperf3: " + result["error"])
        bps += result["end"]["sum_received"]["bits_per_second"]
        nbytes += result["end"]["sum_received"]["bytes"]
    return {"bits_per_second": bps, "bytes": nbytes}


def cmd_tcp(setup, streams, iperf, before, after):
    recv = iperf_received(iperf)
    with open(before) as f:
        b = json.load(f)
    with open(after) as f:
        a = json.load(f)

    # The path check: the data crossed the wire, and went through the
    # outbound SA of gw1 and the inbound SA of gw2.
    moved = {"wire": a["wire"] - b["wire"]}
    for key in ("gw1/out4", "gw2/in4"):
        moved[key] = a["sa_bytes"][key] - b["sa_bytes"][key]
    for key, value in moved.items():
        if value < recv["bytes"]:
            sys.exit("%s moved %d bytes, iperf3 received %d" %
                     (key, value, recv["bytes"]))

    tag = "tcp%s" % streams
    out = [(tag + "_gbps", recv["bits_per_second"] / 1e9)]
    for gw, iface, counter in DATA_PATH:
        q = [x - y for x, y in zip(a["queues"]["%s/%s" % (gw, iface)],
                                   b["queues"]["%s/%s" % (gw, iface)])]
        for i, s in enumerate(shares(q)):
            out.append(("%s_%s_%s_q%d_share" % (tag, gw, iface, i), s))
        work = [wa["counters"][counter] - wb["counters"][counter]
                for wa, wb in zip(a["workers"][gw], b["workers"][gw])
                if wa["iface"] == iface]
        for i, s in enumerate(shares(work)):
            out.append(("%s_%s_%s_w%d_share" % (tag, gw, counter, i), s))
    esp = sum(a["counters"]["gw2"][k] - b["counters"]["gw2"][k]
              for k in ("redirect_esp", "drop_replay_xdp"))
    for k in DROPS:
        n = a["counters"]["gw2"][k] - b["counters"]["gw2"][k]
        out.append(("%s_gw2_%s_ppm" % (tag, k), 1e6 * n / esp if esp else 0))
    for key, value in out:
        print("%s\t%s\t%.6g" % (setup, key, value))


# Functions whose inclusive share holds the others' (they call them).
PERF_TOP = ("esp_out_seq", "esp_in_seq", "replay_checked", "replay_commit",
            "pthread_spin_lock", "pthread_spin_unlock")


def perf_shares(path, syms):
    """Inclusive and self share of each symbol in one perf report."""
    found = {s: [0.0, 0.0] for s in syms}
    with open(path) as f:
        for line in f:
            parts = line.split()
            # "  12.34%  1.23%  [.] sym"
            if len(parts) < 4 or not parts[1].endswith("%") or \
               not parts[0].endswith("%"):
                continue
            # GCC's clones (foo.isra.0) and symbol versions count as foo.
            sym = parts[3].split(".")[0].split("@")[0]
            if sym in found:
                # Inlined copies get lines of their own: the largest
                # inclusive share holds them, self shares add up.
                found[sym] = [max(found[sym][0], float(parts[0][:-1])),
                              found[sym][1] + float(parts[1][:-1])]
    return found


def cmd_perf(syms, *reports):
    names = syms.split(",")
    for path in reports:
        gw = path.rsplit("-", 1)[1].split(".")[0]
        found = perf_shares(path, names)
        for sym in names:
            print("perf\t%s_%s_children_pct\t%.4f" % (gw, sym, found[sym][0]))
            print("perf\t%s_%s_self_pct\t%.4f" % (gw, sym, found[sym][1]))
        print("perf\t%s_seq_replay_lock_pct\t%.4f" %
              (gw, sum(found[s][0] for s in PERF_TOP if s in found)))
        # Self shares never count a sample twice, whatever the call chain.
        print("perf\t%s_seq_replay_lock_self_pct\t%.4f" %
              (gw, sum(v[1] for k, v in found.items() if k != "sa_account")))


def read_samples(path):
    settings, setups = {}, {}
    with open(path) as f:
        for line in f:
            setup, key, value = line.rstrip("\n").split("\t", 2)
            if setup == "-":
                settings[key] = value
                continue
            s = setups.setdefault(setup, {"status": "ok", "runs": {}})
            if key == "status":
                s["status"] = value
            else:
                s["runs"].setdefault(key, []).append(float(value))
    return settings, setups


def median_of(setup, key):
    runs = setup["runs"].get(key)
    return statistics.median(runs) if runs else None


def summarise(setups):
    for s in setups.values():
        s["metrics"] = {k: {"median": statistics.median(v), "min": min(v),
                            "max": max(v), "runs": v}
                        for k, v in s["runs"].items()}
    scaling = {}
    one, two = setups.get("q1"), setups.get("q2")
    if one and two and one["status"] == two["status"] == "ok":
        for key in ("tcp4_gbps", "tcp1_gbps"):
            m1, m2 = median_of(one, key), median_of(two, key)
            if m1 and m2:
                scaling[key] = m2 / m1
    return scaling


def print_table(settings, setups, scaling):
    print("%s: %s round(s), TCP %s s h1 -> h2 through xdpsec %s; cells: "
          "median [min-max]" % (settings.get("date", "?"),
                                settings.get("runs"), settings.get("seconds"),
                                settings.get("alg")))
    for name in ("q1", "q2"):
        s = setups.get(name)
        if not s:
            continue
        label = "%s queue(s) per veth, %s worker(s) per gateway" % (
            name[1:], 2 * int(name[1:]))
        if s["status"] != "ok":
            print("%s: no figures: %s" % (label, s["status"]))
            continue
        print(label + ":")
        for tag in ("tcp4", "tcp1"):
            m = s["metrics"].get(tag + "_gbps")
            if not m:
                continue
            line = "  %s  %.2f [%.2f-%.2f] Gbit/s" % (
                tag, m["median"], m["min"], m["max"])
            print(line)
            # Splits and drops differ from run to run: each run shown.
            for gw, iface, _ in DATA_PATH:
                q = [s["runs"][k] for k in sorted(s["runs"])
                     if k.startswith("%s_%s_%s_q" % (tag, gw, iface))]
                print("        %s %s RX queues, %% per run: %s" % (
                    gw, iface, ", ".join("/".join(
                        "%.0f" % (100 * x) for x in run) for run in zip(*q))))
            drops = [s["runs"].get("%s_gw2_%s_ppm" % (tag, k), [])
                     for k in DROPS[:2]]
            print("        gw2 replay drops (XDP+worker), ppm of ESP per run: "
                  + ", ".join("%.0f+%.0f" % d for d in zip(*drops)))
    for key, ratio in scaling.items():
        print("scaling %s: 2 queues / 1 queue = %.2f" % (key, ratio))
    perf = setups.get("perf")
    if perf:
        print("profile (%% of each daemon's samples, inclusive and self; "
              "zeros left out; %s):" %
              settings.get("perf_setup", "?"))
        for key in sorted(perf["metrics"]):
            value = perf["metrics"][key]["median"]
            if value or "seq_replay" in key:
                print("  %-40s %.3f%%" % (key, value))


def cmd_report(samples, out):
    settings, setups = read_samples(samples)
    scaling = summarise(setups)
    print_table(settings, setups, scaling)
    doc = {"settings": settings, "scaling": scaling,
           "setups": {k: {"status": v["status"], "metrics": v["metrics"]}
                      for k, v in setups.items()}}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    return 0 if all(v["status"] == "ok" for v in setups.values()) else 1


def main(argv):
    cmds = {"snapshot": cmd_snapshot, "check": cmd_check, "tcp": cmd_tcp,
            "perf": cmd_perf, "report": cmd_report}
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    return cmds[argv[1]](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
