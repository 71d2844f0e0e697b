#!/usr/bin/env python3
"""The scale benchmark of issue 14, in one command: synthetic tenants of about 100k, 1M (and, opt-in,
10M) attack edges, each step timed end to end with its peak memory, one Markdown table.

Run (after `cargo build --release`):

    python3 benches/scale.py                      # sizes 100k and 1m, median of 3 runs per query
    python3 benches/scale.py --sizes 100k,1m,10m --mem-cap-gib 23  # 10m: 11.4 GB peak; its peers take 10 GB more

Per size: the facts file is generated once with `azpath synth` (not counted), then
`azpath import` (read, parse, derive, write) is timed; then `paths` pipeline -> crown jewels,
`reach` from the largest pipeline identity, `who-can-reach tier0`, `paths --k 10` for one pair,
and `diff` of the snapshot with a second import of the same tenant with one role assignment
changed. Every step runs under an address-space cap (`prlimit --as`), so a step that needs more
memory fails fast and the table says so. benches/peers/peers.py runs in the same run on the same
database. The table goes to stdout and to benches/results/scale-<date>.md.
"""

import argparse
import datetime
import json
import mmap
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SIZES = ("small", "100k", "1m", "10m")  # small: a quick check of the script itself
SEED = 42

# The -v lines of the azpath binary this script reads; tests/it/bench.rs runs the binary and checks
# that each is still printed as written here.
LINES = {
    "load": re.compile(r"^azpath: loaded snapshot #(\d+) \((\d+) nodes, (\d+) edges\) in ([0-9.]+) ms$", re.M),
    "paths": re.compile(
        r"^azpath: (\d+) sources, (\d+) targets, (\d+) paths in ([0-9.]+) ms \(search ([0-9.]+) ms, then details\)$",
        re.M,
    ),
    "results": re.compile(r"^azpath: (\d+) results in ([0-9.]+) ms$", re.M),
    "diff": re.compile(r"^azpath: diff took ([0-9.]+) ms$", re.M),
    "imported": re.compile(r"^azpath: imported .* as snapshot #(\d+) in .*: (\d+) nodes, (\d+) attack edges", re.M),
}

# The second snapshot's change: the first role assignment synth writes (Reader for a popular group
# on the first resource group) becomes Owner. Same length, so the file is patched in place.
CHANGED_ASSIGNMENT = b"/roleAssignments/00000070-0000-4000-8000-000000000001"
READER = b"acdd72a7-3385-48ef-bd42-f606fba81ae7"
OWNER = b"8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def result_sources(path):
    """The source id of each result of a pretty-printed `azpath.reach/1` document, read a line at a
    time: at 10M edges the document is about 12 GB, far more than json.load can hold."""
    with open(path, "rb") as f:
        in_source = False
        for line in f:
            # A result's own keys are indented by 6 spaces, its source's by 8.
            if line == b'      "source": {\n':
                in_source = True
            elif in_source and line.startswith(b'        "id": '):
                yield json.loads(line.split(b": ", 1)[1].rstrip(b",\n"))
                in_source = False


def parse_verbose(text):
    """What the -v lines in `text` say (the last of each), as numbers."""
    out = {}
    for name, rx in LINES.items():
        found = rx.findall(text)
        if found:
            last = found[-1]
            out[name] = [float(x) for x in (last if isinstance(last, tuple) else (last,))]
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100k,1m", help="comma-separated synth presets, from: " + ", ".join(SIZES))
    p.add_argument("--runs", type=int, default=3, help="runs per query step (the median is shown)")
    p.add_argument("--import-runs", type=int, default=1, help="runs of the import step")
    p.add_argument("--azpath", default=os.path.join(ROOT, "target", "release", "azpath"), help="the binary to measure")
    p.add_argument("--work", default="/tmp/azpath-scale", help="where the facts files and databases go (deleted after)")
    p.add_argument("--keep", action="store_true", help="keep the facts files and databases")
    p.add_argument("--mem-cap-gib", type=float, default=16, help="address-space cap per step (prlimit --as)")
    p.add_argument("--no-peers", action="store_true", help="skip benches/peers/peers.py")
    p.add_argument("--results", default=os.path.join(HERE, "results"), help="folder of the results file")
    p.add_argument("--parse-stderr", metavar="FILE", help="print what this script reads from azpath -v output in FILE, as JSON, and exit")
    return p.parse_args(argv)


class Step:
    """One measured step at one size: medians, or why it has none."""

    def __init__(self, wall=None, peak=None, search_ms=None, extra=None, failed=None):
        self.wall, self.peak, self.search_ms, self.extra, self.failed = wall, peak, search_ms, extra, failed


class Failed(Exception):
    pass


PEAK_MARK = "azpath-bench-peak-kib="


def measured(cmd):
    """cmd run by /usr/bin/time, which prints the peak RSS as the last stderr line. Not our own
    wait4: a child forked from this (large) Python process starts with its peak, and exec keeps it."""
    return ["/usr/bin/time", "-f", PEAK_MARK + "%M"] + cmd


def split_peak(stderr):
    """(the command's own stderr, its peak RSS in MiB) from the stderr of a `measured` command."""
    head, mark, tail = stderr.rpartition(PEAK_MARK)
    if not mark:
        return stderr, None
    return head, int(tail.strip().splitlines()[0]) / 1024


def run_capped(cmd, cap_gib, stdout_path=None):
    """Runs cmd under the cap: (wall s, peak RSS MiB, stderr text). Raises Failed with a short
    reason when it fails."""
    cap = int(cap_gib * (1 << 30))
    with tempfile.TemporaryFile() as err:
        out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
        started = time.perf_counter()
        proc = subprocess.run(measured(["prlimit", f"--as={cap}", "--"] + cmd), stdout=out, stderr=err, env={**os.environ, "NO_COLOR": "1"})
        wall = time.perf_counter() - started
        if stdout_path:
            out.close()
        err.seek(0)
        text, peak = split_peak(err.read().decode(errors="replace"))
    code = proc.returncode
    if code != 0:
        # /usr/bin/time reports a signal as 128 + its number: SIGABRT (a failed allocation), SIGKILL.
        if "memory allocation of" in text or "out of memory" in text.lower() or code in (134, 137):
            raise Failed(f"failed: out of memory (cap {cap_gib:g} GiB)")
        last = text.strip().splitlines()[-1] if text.strip() else ""
        raise Failed(f"failed: exit {code}: {last[:120]}")
    return wall, peak, text


def measure(cmd, runs, cap, parse=None, stdout_path=None):
    """Runs cmd once untimed (a warm-up, as hyperfine's --warmup), then `runs` times: a Step with
    the medians (and the last run's -v figures). Without the warm-up, the first run after an import
    paid for the kernel writing the import's gigabytes back and compacting memory."""
    run_capped(cmd, cap, stdout_path)
    walls, peaks, searches, loads, figures = [], [], [], [], {}
    for _ in range(runs):
        wall, peak, err = run_capped(cmd, cap, stdout_path)
        walls.append(wall)
        peaks.append(peak)
        figures = parse_verbose(err)
        if parse:
            searches.append(parse(figures))
        if "load" in figures:
            loads.append(figures["load"][3])
    figures["load_ms"] = statistics.median(loads) if loads else None
    search = statistics.median(searches) if searches else None
    return Step(statistics.median(walls), statistics.median(peaks), search, figures)


def changed_copy(facts, changed):
    """Copies the facts file with one role assignment changed from Reader to Owner."""
    shutil.copyfile(facts, changed)
    with open(changed, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
        at = m.find(CHANGED_ASSIGNMENT)
        role = m.find(READER, at) if at >= 0 else -1
        if at < 0 or role < 0 or role - at > 1000:
            raise Failed("failed: the facts file lacks the role assignment the diff step changes")
        m[role : role + len(READER)] = OWNER


def one_size(args, size, log):
    """Every step at one size: {step name: Step}, plus the figures of the snapshot."""
    az, cap, runs = args.azpath, args.mem_cap_gib, args.runs
    work = os.path.join(args.work, size)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    facts, changed, db = (os.path.join(work, n) for n in ("facts.json", "facts-changed.json", "azpath.db"))
    steps, info = {}, {}

    def step(name, fn):
        log(f"{size}: {name}")
        try:
            steps[name] = fn()
        except Failed as e:
            steps[name] = Step(failed=str(e))
        return steps[name]

    def on_db(*a):
        return [az, "--db", db, "-v", *a]

    gen = step("generate", lambda: measure([az, "synth", "--preset", size, "--seed", str(SEED), "--output", facts], 1, cap))
    if gen.failed:
        return steps, info
    info["facts_mb"] = os.path.getsize(facts) / 1e6

    def do_import():
        walls, peaks = [], []
        for _ in range(args.import_runs):
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)
            wall, peak, err = run_capped(on_db("import", facts, "--label", "base"), cap)
            walls.append(wall)
            peaks.append(peak)
            info["nodes"], info["edges"] = (int(x) for x in parse_verbose(err)["imported"][1:3])
        return Step(statistics.median(walls), statistics.median(peaks))

    if step("import", do_import).failed:
        return steps, info
    # The import's writes reach the disk before any query is timed, not during one.
    os.sync()
    info["db_mb"] = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s)) / 1e6

    # The largest pipeline identity: the one that is the nearest source of the most nodes `reach
    # pipeline` finds (ties: the smallest id). Not timed.
    reach_json = os.path.join(work, "reach.json")
    largest = None
    try:
        run_capped(on_db("reach", "pipeline", "--snapshot", "1", "--format", "json"), cap, reach_json)
        by_source = {}
        for source in result_sources(reach_json):
            by_source[source] = by_source.get(source, 0) + 1
        os.remove(reach_json)
        largest = min(by_source, key=lambda s: (-by_source[s], s))
        info["largest"] = (largest, by_source[largest])
    except Failed as e:
        steps["reach"] = Step(failed=f"{e} (choosing the identity)")

    paths_out = os.path.join(work, "paths.json")
    paths = step(
        "paths",
        lambda: measure(
            on_db("paths", "--from", "pipeline", "--to", "crown-jewels", "--snapshot", "1", "--format", "json"),
            runs,
            cap,
            parse=lambda f: f["paths"][4],
            stdout_path=paths_out,
        ),
    )
    if not paths.failed:
        steps["load"] = Step(extra={"load_ms": paths.extra["load_ms"]})
        info["pairs"] = int(paths.extra["paths"][2])
    if largest:
        step("reach", lambda: measure(on_db("reach", f'id:"{largest}"', "--snapshot", "1"), runs, cap, parse=lambda f: f["results"][1]))
    step("who-can-reach", lambda: measure(on_db("who-can-reach", "tier0", "--snapshot", "1"), runs, cap, parse=lambda f: f["results"][1]))
    pair = None
    if not paths.failed:
        found = json.load(open(paths_out))["paths"]
        if found:
            pair = (found[0]["source"]["id"], found[0]["target"]["id"])
            info["k_pair"] = pair
    if pair:
        step(
            "k10",
            lambda: measure(
                on_db("paths", "--from", f'id:"{pair[0]}"', "--to", f'id:"{pair[1]}"', "--k", "10", "--snapshot", "1", "--format", "json"),
                runs,
                cap,
                parse=lambda f: f["paths"][4],
            ),
        )
    else:
        steps["k10"] = Step(failed="skipped: no pipeline -> crown-jewel pair")

    def second_import():
        changed_copy(facts, changed)
        os.remove(facts)
        wall, peak, _ = run_capped(on_db("import", changed, "--label", "changed"), cap)
        os.remove(changed)
        return Step(wall, peak)

    if not step("import-2", second_import).failed:
        os.sync()
        step("diff", lambda: measure(on_db("diff", "1", "2"), runs, cap, parse=lambda f: f["diff"][0]))

    if not args.no_peers:
        log(f"{size}: peers")
        peers_md = os.path.join(work, "peers.md")
        cmd = [sys.executable, os.path.join(HERE, "peers", "peers.py"), "--db", db, "--snapshot", "1", "--azpath", az]
        cmd += ["--runs", str(runs), "--output", peers_md]
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if os.path.exists(peers_md):
            info["peers"] = open(peers_md).read()
        if proc.returncode != 0:
            info["peers_error"] = proc.stderr.strip()[-500:]
    return steps, info


ROWS = [
    ("generate", "generate the facts file (`synth --output`, not counted)"),
    ("import", "import (read + parse + derive + write)"),
    ("db", "database size (one snapshot)"),
    ("load", "graph load (`-v` \"loaded snapshot … in\")"),
    ("paths", "`paths` pipeline → crown-jewels, `--format json`"),
    ("reach", "`reach` from the largest pipeline identity"),
    ("who-can-reach", "`who-can-reach tier0`"),
    ("k10", "`paths --k 10` for one pair"),
    ("import-2", "second import (one assignment changed)"),
    ("diff", "`diff 1 2` (every saved query)"),
]


def cell(name, s, info):
    if name == "db":
        return f"{info['db_mb']:,.0f} MB" if "db_mb" in info else "—"
    if s is None:
        return "—"
    if s.failed:
        return s.failed
    if name == "load":
        return f"{s.extra['load_ms']:.0f} ms"
    text = f"{s.wall:.2f} s"
    if s.search_ms is not None:
        text += f" (search {s.search_ms:.1f} ms)" if s.search_ms < 10 else f" (search {s.search_ms:.0f} ms)"
    return text + f", {s.peak:,.0f} MiB"


def value(name, s, info):
    """[(label, figure)] the growth ratios are taken of, or None."""
    if name == "db":
        return [("size", info.get("db_mb"))]
    if s is None or s.failed:
        return None
    if name == "load":
        return [("time", s.extra["load_ms"])]
    return [("time", s.wall), ("mem", s.peak)]


def growth(a, b):
    if not a or not b:
        return "—"
    parts = [f"{label} ×{y / x:.1f}" for (label, x), (_, y) in zip(a, b) if x and y]
    return ", ".join(parts) or "—"


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        ram = f"{mem / (1 << 20):.1f} GiB RAM"
    except OSError:
        ram = "unknown RAM"
    return f"{os.cpu_count()} cores ({cpu}), {ram}, {platform.system()} {platform.release()}"


def git_commit():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def load_average():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return ["?"] * 3


def main(argv):
    args = parse_args(argv)
    if args.parse_stderr:
        text = sys.stdin.read() if args.parse_stderr == "-" else open(args.parse_stderr).read()
        print(json.dumps(parse_verbose(text), sort_keys=True))
        return 0
    sizes = [s for s in args.sizes.split(",") if s]
    for s in sizes:
        if s not in SIZES:
            sys.exit(f"scale: error: unknown size {s!r}; sizes are {', '.join(SIZES)}")
    if not os.access(args.azpath, os.X_OK):
        sys.exit(f"scale: error: no azpath binary at {args.azpath}; run `cargo build --release` first")
    if shutil.which("prlimit") is None:
        sys.exit("scale: error: prlimit (util-linux) is needed to cap each step's memory")
    if args.runs < 1 or args.import_runs < 1:
        sys.exit("scale: error: --runs and --import-runs must be at least 1")

    def log(msg):
        print(f"scale: {datetime.datetime.now(datetime.timezone.utc):%H:%M:%S} {msg}", file=sys.stderr, flush=True)

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = load_average()
    results = {}
    try:
        for size in sizes:
            try:
                results[size] = one_size(args, size, log)
            except OSError as e:  # a full disk, say: this size fails, the table is still written
                results[size] = ({"generate": Step(failed=f"failed: {e.strerror}")}, {})
            if not args.keep:
                shutil.rmtree(os.path.join(args.work, size), ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)
    load_after = load_average()

    head = ["step"]
    for s in sizes:
        info = results[s][1]
        head.append(f"{s}: {info['edges']:,} edges, {info['nodes']:,} nodes" if "edges" in info else s)
    for a, b in zip(sizes, sizes[1:]):
        ea, eb = results[a][1].get("edges"), results[b][1].get("edges")
        head.append(f"growth {a} → {b}" + (f" (edges ×{eb / ea:.1f})" if ea and eb else ""))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, label in ROWS:
        row = [label] + [cell(name, results[s][0].get(name), results[s][1]) for s in sizes]
        for a, b in zip(sizes, sizes[1:]):
            row.append(growth(value(name, results[a][0].get(name), results[a][1]), value(name, results[b][0].get(name), results[b][1])))
        lines.append("| " + " | ".join(row) + " |")

    notes = [
        f"Machine: {machine()}. Commit {git_commit()}. Run {started:%Y-%m-%d %H:%M} UTC; load average "
        f"{' '.join(load_before)} before, {' '.join(load_after)} after.",
        f"Command: `python3 benches/scale.py --sizes {','.join(sizes)} --runs {args.runs}` "
        f"(`synth --preset SIZE --seed {SEED}`; each step capped at {args.mem_cap_gib:g} GiB of address space).",
        f"Wall time and peak RSS of the whole command; queries: median of {args.runs} runs after one untimed "
        f"warm-up run (and after the import's writes are synced to disk), import: median of "
        f"{args.import_runs}. \"search\" is the command's own `-v` figure (selection and search; for `paths`, "
        "before reading the details of the hops shown). Growth: the ratio to the previous size.",
    ]
    for s in sizes:
        info = results[s][1]
        facts = []
        if "facts_mb" in info:
            facts.append(f"facts file {info['facts_mb']:,.0f} MB")
        if "largest" in info:
            facts.append(f"largest pipeline identity `{info['largest'][0]}` (nearest source of {info['largest'][1]:,} nodes)")
        if "pairs" in info:
            facts.append(f"{info['pairs']:,} pipeline → crown-jewel pairs")
        if "k_pair" in info:
            facts.append(f"`--k 10` pair: `{info['k_pair'][0]}` → `{info['k_pair'][1]}`")
        if facts:
            notes.append(f"{s}: " + "; ".join(facts) + ".")
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    for s in sizes:
        info = results[s][1]
        if "peers" in info or "peers_error" in info:
            text += f"\n### Peers at {s}\n\n" + info.get("peers", "")
            if "peers_error" in info:
                text += f"\npeers.py failed: {info['peers_error']}\n"
    print(text)
    os.makedirs(args.results, exist_ok=True)
    out = os.path.join(args.results, f"scale-{started:%Y-%m-%d}.md")
    with open(out, "w") as f:
        f.write(f"# azpath scale benchmark, {started:%Y-%m-%d}\n\n" + text)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
