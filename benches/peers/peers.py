#!/usr/bin/env python3
"""azpath side by side with rustworkx, python-igraph and networkx on one stored snapshot (issue 14).

Every peer loads the snapshot's edges straight from the SQLite file and runs the searches azpath
runs: multi-source reach (everything the pipeline identities reach, like `azpath reach pipeline`)
and the easiest path per (pipeline entry point, crown jewel) pair (like `azpath paths`), as
Dijkstra with the edge cost as weight. Load and search are timed apart; each peer runs in its own
process so its peak memory is its own. The answers are checked against azpath's: the number of
reached nodes, and every pair with its cost.

By default the peers search the same state graph azpath searches: node n becomes (n, reached with
control of it) and `Contains` is walked only from a controlled state (docs/ARCHITECTURE.md, graph),
so the answers must match exactly. `--semantics plain` searches the edges as a plain weighted
digraph instead (faster for the peers, different answers: counts are reported, not checked).

Run: python3 benches/peers/peers.py --db azpath.db [--azpath target/release/azpath]
It creates a venv (default /tmp/azpath-peers-venv) and installs requirements.txt into it.
"""

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIREMENTS = os.path.join(HERE, "requirements.txt")
PEERS = ("rustworkx", "igraph", "networkx")
# Kinds after which a scope is controlled, and the one kind that needs control (src/model.rs).
CONTROL_KINDS = ("AssignRoles", "Contains")
sys.dont_write_bytecode = True  # no __pycache__ in the repository from importing scale.py
sys.path.insert(0, os.path.dirname(HERE))
from scale import LINES, measured, split_peak  # noqa: E402  (LINES: the -v lines tests/it/bench.rs checks)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="the azpath SQLite database")
    p.add_argument("--snapshot", type=int, help="snapshot id (default: the latest)")
    p.add_argument("--azpath", help="the azpath binary to time on the same searches (default: peers only)")
    p.add_argument("--peers", default=",".join(PEERS), help="comma-separated, from: " + ", ".join(PEERS))
    p.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is reported")
    p.add_argument("--semantics", choices=("states", "plain"), default="states")
    p.add_argument("--venv", default=os.environ.get("AZPATH_PEERS_VENV", "/tmp/azpath-peers-venv"))
    p.add_argument("--output", help="also write the Markdown table here")
    p.add_argument("--json", help="also write the figures as JSON here")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one peer once, print JSON
    p.add_argument("--sets", help=argparse.SUPPRESS)  # internal: the source/target sets file
    return p.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# The venv: the peers come from PyPI at the pinned versions, in a venv of their own.


def ensure_venv(venv):
    """Re-runs this script inside `venv` (created and filled on first use) unless already there."""
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        return
    python = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, "azpath-requirements.txt")
    wanted = open(REQUIREMENTS).read()
    if not os.path.exists(stamp) or open(stamp).read() != wanted:
        print(f"peers: installing {REQUIREMENTS} into {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "-r", REQUIREMENTS], check=True)
        with open(stamp, "w") as f:
            f.write(wanted)
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


# ---------------------------------------------------------------------------------------------
# Reading the snapshot.


def connect(db):
    if not os.path.exists(db):
        sys.exit(f"peers: error: no database at {db}")
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def latest_snapshot(db):
    (snap,) = connect(db).execute("SELECT MAX(id) FROM snapshots").fetchone()
    if snap is None:
        sys.exit(f"peers: error: {db} holds no snapshot")
    return snap


def selection_sets(db, snap):
    """The sources and targets azpath selects: `pipeline` (all, for reach), its entry points (for
    paths: a source another selected source signs in as is dropped, as src/query/mod.rs does) and
    `crown-jewels`. Node ids are the rows' ix (the graph's node positions)."""
    con = connect(db)
    pipeline, jewels, ids = [], [], {}
    for ix, node_id, props in con.execute("SELECT ix, id, props FROM nodes WHERE snapshot_id = ? ORDER BY ix", (snap,)):
        ids[ix] = node_id
        p = json.loads(props)
        if "pipeline" in p:
            pipeline.append(ix)
        if "crown_jewel" in p:
            jewels.append(ix)
    auth = {}
    for src, dst in con.execute("SELECT src, dst FROM edges WHERE snapshot_id = ? AND kind = 'AuthenticatesAs'", (snap,)):
        auth.setdefault(src, []).append(dst)
    chosen, aliased = set(pipeline), set()
    for s in pipeline:
        stack = [s]
        while stack:
            for t in auth.get(stack.pop(), []):
                walk_on = (t != s and t not in aliased) if t in chosen else True
                if t in chosen and t != s:
                    aliased.add(t)
                if walk_on:
                    stack.append(t)
    entry = [s for s in pipeline if s not in aliased]
    return {"snapshot": snap, "pipeline": pipeline, "entry": entry, "jewels": jewels, "ids": ids}


def load_edges(db, snap, semantics):
    """(node count, [(u, v, weight)]) of the graph to search, parallel edges reduced to the cheapest.
    With "states", node 2n is n reached without control and 2n+1 with control of it."""
    con = connect(db)
    (n,) = con.execute("SELECT COUNT(*) FROM nodes WHERE snapshot_id = ?", (snap,)).fetchone()
    if semantics == "plain":
        sql = "SELECT src, dst, MIN(cost) FROM edges WHERE snapshot_id = ?1 GROUP BY src, dst"
        return n, con.execute(sql, {"1": snap}).fetchall()
    control = "kind IN ('AssignRoles', 'Contains')"
    sql = f"""SELECT u, v, MIN(w) FROM (
        SELECT 2 * src + 1 AS u, 2 * dst + ({control}) AS v, cost AS w FROM edges WHERE snapshot_id = ?1
        UNION ALL
        SELECT 2 * src, 2 * dst + ({control}), cost FROM edges WHERE snapshot_id = ?1 AND kind != 'Contains'
    ) GROUP BY u, v"""
    return 2 * n, con.execute(sql, {"1": snap}).fetchall()


# ---------------------------------------------------------------------------------------------
# One peer, once (in its own process): load, reach, pairs.


def run_one(args):
    sets = json.load(open(args.sets))
    snap, semantics, peer = sets["snapshot"], args.semantics, args.one
    state = (lambda n: 2 * n) if semantics == "states" else (lambda n: n)
    node_of = (lambda s: s // 2) if semantics == "states" else (lambda s: s)
    starts = [state(s) for s in sets["pipeline"]]
    entry = [state(s) for s in sets["entry"]]
    jewels = sets["jewels"]
    # The states a crown jewel can be reached in: the pair's cost is the cheaper of them.
    wanted = sorted({state(t) for t in jewels} | ({state(t) + 1 for t in jewels} if semantics == "states" else set()))

    # Imported before the clock starts: the load is the graph's, not the library's.
    if peer not in PEERS:
        sys.exit(f"peers: error: unknown peer {peer!r}; peers are {', '.join(PEERS)}")
    lib = __import__(peer)
    started = time.perf_counter()
    n, edges = load_edges(args.db, snap, semantics)
    # Each peer gives reach() (lengths from the super-source, or from all sources at once) and either
    # one_source(s) (lengths from s) or, igraph, all_pairs() (one call for every source); only the
    # library's calls are timed, not reading their answers.
    if peer == "rustworkx":
        rx = lib
        # A multigraph: the rows are already one per (u, v), and a simple graph would look for an
        # existing edge on every insert (quadratic at a group with 100k members).
        g = rx.PyDiGraph(multigraph=True)
        g.add_nodes_from(range(n + 1))
        super_source = n  # reach from many sources: one search from a node with a 0-cost edge to each
        g.add_edges_from([(u, v, float(w)) for u, v, w in edges] + [(super_source, s, 0.0) for s in starts])

        def reach():
            return rx.digraph_dijkstra_shortest_path_lengths(g, super_source, float)

        def one_source(s):
            return rx.digraph_dijkstra_shortest_path_lengths(g, s, float)

    elif peer == "igraph":
        ig = lib
        super_source = n
        g = ig.Graph(n=n + 1, edges=[(u, v) for u, v, _ in edges] + [(super_source, s) for s in starts], directed=True)
        g.es["weight"] = [float(w) for _, _, w in edges] + [0.0] * len(starts)

        def reach():
            return g.distances(source=[super_source], weights="weight", mode="out")[0]

        def all_pairs():
            if not entry:
                return []
            return g.distances(source=entry, target=wanted, weights="weight", mode="out")

    else:
        nx = lib
        g = nx.DiGraph()
        g.add_nodes_from(range(n))
        g.add_weighted_edges_from(edges)

        def reach():
            return nx.multi_source_dijkstra_path_length(g, starts)

        def one_source(s):
            return nx.single_source_dijkstra_path_length(g, s)

    del edges
    load_s = time.perf_counter() - started

    t = time.perf_counter()
    raw_reach = reach()
    reach_ms = (time.perf_counter() - t) * 1000
    if peer == "igraph":
        reached = [i for i, d in enumerate(raw_reach) if d != float("inf") and i != super_source]
    else:
        reached = [i for i in raw_reach.keys()]
    del raw_reach
    # Per source: the search call is timed, picking the crown jewels out of its answer is not.
    pairs_ms, found = 0.0, []
    if peer == "igraph":
        t = time.perf_counter()
        rows = all_pairs()
        pairs_ms = (time.perf_counter() - t) * 1000
        found = [(s, {x: d for x, d in zip(wanted, row) if d != float("inf")}) for s, row in zip(entry, rows)]
    else:
        for s in entry:
            t = time.perf_counter()
            lengths = one_source(s)
            pairs_ms += (time.perf_counter() - t) * 1000
            found.append((s, {x: lengths[x] for x in wanted if x in lengths}))

    sources = set(sets["pipeline"])
    reached_nodes = {node_of(i) for i in reached if i < n} - sources
    pair_costs = {}
    for s, dist in found:
        for t in jewels:
            costs = [dist.get(x) for x in ((2 * t, 2 * t + 1) if semantics == "states" else (t,))]
            costs = [c for c in costs if c is not None]
            if costs and t != node_of(s):
                pair_costs[f"{node_of(s)} {t}"] = int(min(costs))
    print(
        json.dumps(
            {
                "peer": peer,
                "load_s": load_s,
                "reach_ms": reach_ms,
                "pairs_ms": pairs_ms,
                "reached": len(reached_nodes),
                "pairs": pair_costs,
            }
        )
    )


# ---------------------------------------------------------------------------------------------
# azpath on the same searches.


def run_measured(cmd):
    """Runs cmd with its output captured: (exit code, wall seconds, peak RSS MiB, stdout, stderr)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.run(measured(cmd), stdout=out, stderr=err, env={**os.environ, "NO_COLOR": "1"})
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        text, peak = split_peak(err.read().decode(errors="replace"))
        return proc.returncode, wall, peak, out.read().decode(errors="replace"), text


def azpath_figures(args, sets):
    snap = str(sets["snapshot"])
    base = [args.azpath, "--db", args.db, "-v"]
    figures = {}
    ix = {v: k for k, v in sets["ids"].items()}
    for what, cmd in (
        ("reach", base + ["reach", "pipeline", "--snapshot", snap]),
        ("pairs", base + ["paths", "--from", "pipeline", "--to", "crown-jewels", "--snapshot", snap, "--format", "json"]),
    ):
        runs = []
        # One untimed run first, so that azpath's figures are a warm run's (as in benches/scale.py):
        # a run right after a peer's gigabytes of memory paid for the kernel reclaiming them.
        for run in range(args.runs + 1):
            code, wall, peak, out, err = run_measured(cmd)
            if code != 0:
                sys.exit(f"peers: error: {' '.join(cmd)} failed ({code}): {err.strip()[-500:]}")
            if run == 0:
                continue
            load = LINES["load"].search(err)
            m = LINES["results" if what == "reach" else "paths"].search(err)
            if not load or not m:
                sys.exit(f"peers: error: no timing line in azpath's -v output:\n{err}")
            if what == "reach":
                search_ms, answer = float(m.group(2)), int(m.group(1))
            else:
                search_ms = float(m.group(5))
                answer = {f"{ix[p['source']['id']]} {ix[p['target']['id']]}": p["cost"] for p in json.loads(out)["paths"]}
            runs.append({"load_ms": float(load.group(4)), "search_ms": search_ms, "wall_s": wall, "peak_mib": peak})
        figures[what] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        figures[what]["answer"] = answer
    return figures


# ---------------------------------------------------------------------------------------------
# The comparison.


def ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"


def main(argv):
    args = parse_args(argv)
    if args.one:
        ensure_venv(args.venv)
        return run_one(args)
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        if p not in PEERS:
            sys.exit(f"peers: error: unknown peer {p!r}; peers are {', '.join(PEERS)}")
    ensure_venv(args.venv)
    snap = args.snapshot or latest_snapshot(args.db)
    sets = selection_sets(args.db, snap)
    if not sets["pipeline"] or not sets["jewels"]:
        sys.exit("peers: error: the snapshot has no pipeline identity or no crown jewel to search between")
    az = azpath_figures(args, sets) if args.azpath else None

    results = {}
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        json.dump(sets, f)
        f.flush()
        for peer in peers:
            runs = []
            for _ in range(args.runs):
                cmd = [sys.executable, os.path.abspath(__file__), "--db", args.db, "--semantics", args.semantics]
                code, wall, peak, out, err = run_measured(cmd + ["--one", peer, "--sets", f.name])
                if code != 0:
                    sys.exit(f"peers: error: {peer} failed ({code}): {err.strip()[-1000:]}")
                r = json.loads(out)
                r["peak_mib"] = peak  # the whole process's (interpreter and library included), as for azpath
                runs.append(r)
            res = {k: statistics.median(r[k] for r in runs) for k in ("load_s", "reach_ms", "pairs_ms", "peak_mib")}
            res["reached"], res["pairs"] = runs[-1]["reached"], runs[-1]["pairs"]
            results[peer] = res
            print(f"peers: {peer} done", file=sys.stderr)

    lines = [
        f"Peers on snapshot #{snap} of {os.path.basename(args.db)}: {len(sets['pipeline'])} pipeline sources "
        f"({len(sets['entry'])} entry points), {len(sets['jewels'])} crown jewels; {args.semantics} semantics; "
        f"median of {args.runs} run(s) (azpath's after one untimed warm-up run). Load = SQLite rows to the library's graph object; search = the search calls only.",
        "",
        "| search | who | load | search | peak RSS | answer | azpath/peer: search | load | end to end | memory |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    checks = []
    for what, label in (("reach", "reach from pipeline (multi-source)"), ("pairs", "easiest path per pipeline → crown-jewel pair")):
        key = "reach_ms" if what == "reach" else "pairs_ms"
        if az:
            a = az[what]
            ans = a["answer"] if what == "reach" else f"{len(a['answer'])} pairs"
            lines.append(
                f"| {label} | azpath | {a['load_ms']:.0f} ms | {a['search_ms']:.1f} ms | {a['peak_mib']:.0f} MiB | {ans} | | | "
                f"{a['wall_s']:.2f} s wall | |"
            )
        for peer, r in results.items():
            if what == "reach":
                ans = r["reached"]
            else:
                ans = f"{len(r['pairs'])} pairs"
            cells = ["", "", "", ""]
            if az:
                a = az[what]
                # azpath's end to end is its whole command; the peer's is its load plus this search.
                cells = [
                    ratio(a["search_ms"], r[key]),
                    ratio(a["load_ms"] / 1000, r["load_s"]),
                    ratio(a["wall_s"], r["load_s"] + r[key] / 1000),
                    ratio(a["peak_mib"], r["peak_mib"]),
                ]
                same = r["reached"] == a["answer"] if what == "reach" else r["pairs"] == a["answer"]
                checks.append((what, peer, same))
            lines.append(
                f"| {label} | {peer} | {r['load_s']:.2f} s | {r[key]:.1f} ms | {r['peak_mib']:.0f} MiB | {ans} | "
                + " | ".join(cells)
                + " |"
            )
    if checks:
        lines.append("")
        for what, peer, same in checks:
            verdict = "same answer as azpath" if same else "DIFFERENT answer from azpath"
            if not same and args.semantics == "plain":
                verdict += " (expected with plain semantics: Contains is walked from any state)"
            lines.append(f"- {peer}, {what}: {verdict}")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.output:
        with open(args.output, "w") as f:
            f.write(table)
    if args.json:
        with open(args.json, "w") as f:
            strip = lambda d: {k: v for k, v in d.items() if k not in ("pairs", "answer")}  # noqa: E731
            json.dump(
                {
                    "snapshot": snap,
                    "semantics": args.semantics,
                    "azpath": {k: strip(v) for k, v in az.items()} if az else None,
                    "peers": {k: strip(v) for k, v in results.items()},
                    "same": [{"search": w, "peer": p, "same": s} for w, p, s in checks],
                },
                f,
                indent=1,
            )
    if checks and args.semantics == "states" and not all(s for _, _, s in checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
