#!/usr/bin/env python3
"""Samples a process's resident memory by who allocated it, until the process ends.

    bench/tools/memory_split.py PATTERN [SECONDS]

PATTERN is matched against full command lines (`pgrep -f`; the newest match is sampled, so a
server restarted by the bench is followed); anchor it (`'^/tmp/server-B'`) so that it does not
match this script's own command line. Each line: unix time, pid, then MiB of
  total       VmRSS, summed over the mappings
  hwm         VmHWM, the peak so far
  mimalloc    anonymous mappings of 1 GiB or more: mimalloc's arenas (the Rust heap)
  other_anon  the other anonymous mappings: glibc's arenas (SQLite's heap), thread stacks
  file        file-backed mappings (the binary, libraries, SQLite's -shm)
Reading smaps costs a few milliseconds of CPU a sample: compare throughput only between runs
sampled alike.
"""
import re
import subprocess
import sys
import time

MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


def newest(pattern):
    out = subprocess.run(["pgrep", "-n", "-f", pattern], capture_output=True, text=True)
    return out.stdout.strip() or None


def sample(pid):
    mi = other = file = hwm = 0
    size, name = 0, ""
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if MAPPING.match(line):
                parts = line.split()
                start, end = (int(x, 16) for x in parts[0].split("-"))
                size, name = (end - start) >> 20, parts[5] if len(parts) > 5 else ""
            elif line.startswith("Rss:"):
                kib = int(line.split()[1])
                if name:
                    file += kib
                elif size >= 1024:
                    mi += kib
                else:
                    other += kib
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    mib = lambda kib: kib >> 10
    return mib(mi + other + file), mib(hwm), mib(mi), mib(other), mib(file)


def main():
    pattern = sys.argv[1]
    every = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    seen = False
    while True:
        pid = newest(pattern)
        if pid is None and seen:
            return
        if pid is not None:
            seen = True
            try:
                tot, hwm, mi, other, file = sample(pid)
                print(f"{time.time():.1f} {pid} total {tot} hwm {hwm} mimalloc {mi} "
                      f"other_anon {other} file {file}", flush=True)
            except OSError:
                pass
        time.sleep(every)


if __name__ == "__main__":
    main()
