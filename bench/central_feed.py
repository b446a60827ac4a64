#!/usr/bin/env python3
"""Visits feeds of many sites for bench/central_load.sh, in the schema of docs/schema/visits.schema.json.

generate: writes, per site, the visits micro-batches a gateway would publish (one JSON payload per line), for
  the DAYS days before today (backlog/) and for today up to now (live/). Going through footfall-sim, probes and
  a gateway for hundreds of site-days is too slow for this machine, so the visits are drawn here with the
  shapes the simulator and the report bench use: site kinds with their daily volumes (mall 8,000 visits a day,
  store 1,500, sales office 300), opening hours 10:00-22:00 local, 55 % passers-by, 10 % bounces, 35 % visitors
  (dwell 5-120 min), staff present all day, returning devices, 1-3 probes per visit, a strongest-zone path.
  A batch is sealed every 5 s of site time with the visits that ended (300 s of silence after the last frame)
  in it, as the gateway does, so most batches hold one or two visits (--pack N: N a batch, to load a history
  quickly). sent_at is left as a placeholder.
publish: feeds the lines to one `mosquitto_pub -l -q 1` per site, writing sent_at = the moment the line is
  handed over; --rate paces all sites together (messages per second, in the order of their seal times),
  0 sends as fast as the clients take them. Prints the wall time taken.
"""
import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time

DAY_MS = 86_400_000
PLACEHOLDER = "@SENT_AT@"
KINDS = [  # name, visits a day, share of sites, zones
    ("mall", 8000, 0.1, ["entrance", "atrium", "food-court", "level-2"]),
    ("store", 1500, 0.3, ["entrance", "floor", "checkout"]),
    ("office", 300, 0.6, ["entrance", "model-room", "negotiation"]),
]
UTC_OFFSET_MIN = 60


def iso(ms):
    t = time.gmtime(ms // 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ms % 1000)


def hexid(*parts, n=32):
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:n]


def site_kind(index):
    """Kinds in fixed proportions over the site numbers: every tenth site is a mall."""
    r = (index * 0.6180339887) % 1.0
    acc = 0.0
    for kind in KINDS:
        acc += kind[2]
        if r < acc:
            return kind
    return KINDS[-1]


def arrival_in_day(rng, day_start):
    """Opening hours 10:00-22:00 local, busiest around 13:00 and 18:30."""
    while True:
        h = rng.gauss(13.0, 1.5) if rng.random() < 0.45 else rng.gauss(18.5, 2.0)
        if 10.0 <= h < 21.9:
            return day_start + int(h * 3_600_000) - UTC_OFFSET_MIN * 60_000 + rng.randrange(1000)


def make_visit(rng, site, zones, device, arrival, dwell_ms, loud):
    departure = arrival + dwell_ms
    nprobes = 1 if dwell_ms < 300_000 else rng.choice((1, 2, 2, 3, 3))
    used = rng.sample(zones, min(nprobes, len(zones)))
    probes = []
    for i, zone in enumerate(used):
        first = arrival + (0 if i == 0 else rng.randrange(max(1, dwell_ms // 2)))
        last = max(first, departure - (0 if i == 0 else rng.randrange(max(1, (departure - first) // 2 + 1))))
        rssi_mean = rng.uniform(-62, -45) if loud else rng.uniform(-85, -68)
        probes.append({"probe": "probe-%d" % (zones.index(zone) + 1), "zone": zone, "first_seen": iso(first),
                       "last_seen": iso(last), "frames": rng.randrange(2, 40 + dwell_ms // 20_000),
                       "rssi_max": int(rssi_mean) + rng.randrange(1, 8), "rssi_mean": round(rssi_mean, 1)})
    path = [{"from": iso(arrival), "zone": used[0]}]
    for zone in used[1:]:
        path.append({"from": iso(arrival + rng.randrange(60_000, max(60_001, dwell_ms))), "zone": zone})
    path.sort(key=lambda s: s["from"])
    return {"device": device, "key_epoch": 0, "arrival": iso(arrival), "departure": iso(departure),
            "dwell_s": round(dwell_ms / 1000, 3), "zones": used, "entry_zone": path[0]["zone"],
            "exit_zone": path[-1]["zone"], "strongest_zone": path, "probes": probes,
            "randomized": rng.random() < 0.8, "fingerprint": hexid("fp", rng.randrange(40)),
            "visit_id": hexid(site, device, arrival), "addresses": rng.choice((1, 1, 2, 3))}


def site_day(rng, site, kind, day_start, devices):
    """(seal time, visit) of one local day of a site."""
    _, per_day, _, zones = kind
    out = []
    n = max(1, int(rng.gauss(per_day, per_day * 0.1)))
    for _ in range(n):
        if devices and rng.random() < 0.2:
            device = rng.choice(devices)
        else:
            device = hexid(site, "device", len(devices))
            devices.append(device)
        r = rng.random()
        if r < 0.55:
            dwell, loud = rng.randrange(20_000, 240_000), False  # passer-by
        elif r < 0.65:
            dwell, loud = rng.randrange(30_000, 290_000), True  # bounce
        else:
            dwell, loud = int(min(7_200_000, max(300_000, rng.lognormvariate(7.3, 0.7) * 1000))), True
        arrival = arrival_in_day(rng, day_start)
        out.append(make_visit(rng, site, zones, device, arrival, dwell, loud))
    for k in range(max(2, len(zones))):  # staff: from before opening to after closing
        arrival = day_start + (9 * 60 + rng.randrange(30)) * 60_000 - UTC_OFFSET_MIN * 60_000
        out.append(make_visit(rng, site, zones, hexid(site, "staff", k), arrival, 13 * 3_600_000, True))
    sealed = []
    for v in out:
        departure = iso_ms(v["departure"])
        seal = (departure + 300_000) // 5000 * 5000 + 5000  # the departure silence, then the next 5 s tick
        sealed.append((seal, v))
    return sealed


def iso_ms(s):
    import calendar
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(s[20:23])


def generate(args):
    today = (int(time.time() * 1000) + UTC_OFFSET_MIN * 60_000) // DAY_MS * DAY_MS
    summary = {"sites": [], "backlog": {"visits": 0, "batches": 0}, "live": {"visits": 0, "batches": 0}}
    for part in ("backlog", "live"):
        os.makedirs(os.path.join(args.out, part), exist_ok=True)
    for i in range(args.sites):
        site = "site-%04d" % (i + 1)
        kind = site_kind(i)
        rng = random.Random("%d/%s" % (args.seed, site))
        devices = []
        parts = {"backlog": [], "live": []}
        for d in range(args.days, 0, -1):
            parts["backlog"] += site_day(rng, site, kind, today - d * DAY_MS, devices)
        parts["live"] = site_day(rng, site, kind, today, devices)
        seq = 0
        for part in ("backlog", "live"):
            rows = sorted(parts[part], key=lambda sv: (sv[0], sv[1]["arrival"]))
            with open(os.path.join(args.out, part, site + ".jsonl"), "w") as f:
                j = 0
                while j < len(rows):
                    k = j
                    while k < len(rows) and (args.pack or rows[k][0] == rows[j][0]) and k - j < (args.pack or 500):
                        k += 1
                    seq += 1
                    batch = {"batch_id": "%s-1700000000-%d" % (site, seq), "tenant": args.tenant, "site": site,
                             "seq": seq, "sent_at": PLACEHOLDER, "visits": [v for _, v in rows[j:k]]}
                    f.write("%d\t%s\n" % (rows[j][0], json.dumps(batch, separators=(",", ":"))))
                    summary[part]["batches"] += 1
                    summary[part]["visits"] += k - j
                    j = k
        summary["sites"].append({"site": site, "kind": kind[0]})
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f)
    print(json.dumps({p: summary[p] for p in ("backlog", "live")}))


def publish(args):
    files = sorted(f for f in os.listdir(args.dir) if f.endswith(".jsonl"))
    clients, lines = {}, []
    for f in files:
        site = f[:-len(".jsonl")]
        topic = "footfall/v1/%s/%s/visits" % (args.tenant, site)
        clients[site] = subprocess.Popen(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(args.port), "-q", "1", "-l", "-t", topic,
             "-i", "bench-gw-" + site, "-M", "100"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True, bufsize=1 << 16)
        with open(os.path.join(args.dir, f)) as fh:
            for line in fh:
                seal, payload = line.rstrip("\n").split("\t", 1)
                lines.append((int(seal), site, payload))
    lines.sort(key=lambda x: x[0])
    if args.max_messages > 0:
        lines = lines[:args.max_messages]
    visits = sum(payload.count('"visit_id"') for _, _, payload in lines)
    t0 = time.time()
    for n, (_, site, payload) in enumerate(lines):
        if args.rate > 0:
            due = t0 + n / args.rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
        pipe = clients[site].stdin
        pipe.write(payload.replace(PLACEHOLDER, iso(int(time.time() * 1000))) + "\n")
        if args.rate > 0:
            pipe.flush()
    for c in clients.values():
        c.stdin.close()
    failed = sum(1 for c in clients.values() if c.wait() != 0)
    print(json.dumps({"messages": len(lines), "visits": visits, "seconds": round(time.time() - t0, 3), "clients_failed": failed}))
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--sites", type=int, required=True)
    g.add_argument("--days", type=int, required=True)
    g.add_argument("--tenant", default="acme")
    g.add_argument("--seed", type=int, default=16)
    g.add_argument("--out", required=True)
    g.add_argument("--pack", type=int, default=0,
                   help="N visits a batch whatever their seal times (to load a history quickly); 0: as a gateway")
    q = sub.add_parser("publish")
    q.add_argument("--dir", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--tenant", default="acme")
    q.add_argument("--rate", type=float, default=0)
    q.add_argument("--max-messages", type=int, default=0)
    a = p.parse_args()
    sys.exit(generate(a) if a.cmd == "generate" else publish(a))


if __name__ == "__main__":
    main()
