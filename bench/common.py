"""Shared helpers for the benchmark suites (bench/<suite>.py)."""
import json
import os
import platform
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
OUT = os.path.join(ROOT, "bench", "out")
SHARED_DATA = os.environ.get("WR_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))


def driver(name):
    """Path of a compiled C benchmark driver (bench/<name>.c)."""
    return os.path.join(BUILD, "bench", name)


def run(cmd, **kw):
    """Runs a command, returns (seconds, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)
    return time.perf_counter() - t0, p.stdout


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def write(suite, metrics):
    """Writes bench/out/<suite>.json and prints a table."""
    os.makedirs(OUT, exist_ok=True)
    flat = {k: float(v) for k, v in metrics.items()}
    with open(os.path.join(OUT, f"{suite}.json"), "w") as f:
        json.dump(flat, f, indent=1, sort_keys=True)
    width = max(len(k) for k in flat)
    print(f"--- {suite} ({machine()})")
    for k in sorted(flat):
        print(f"  {k:<{width}}  {flat[k]:.6g}")
    print(f"  -> {os.path.relpath(os.path.join(OUT, suite + '.json'), ROOT)}")
