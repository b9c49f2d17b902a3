#!/usr/bin/env python3
"""Where a server's CPU went, from `perf script` output: every sample is put in one group by
its leaf frame (kernel samples by what the stack was doing), and the groups are printed as
shares of all samples. Used for the tables in BENCHMARKS.md.

    perf script -i profiles/sqlite-s1.data > s1.txt
    python3 bench/tools/perf_summary.py s1.txt [more.txt ...]
"""
import collections
import re
import sys

LIBC_OR_SQLITE = ("sqlite3", "pcache", "wal", "pager", "btree", "vdbe", "yy_", "getPage",
                  "malloc", "cfree", "_int_", "unlink_chunk", "realloc", "__mem", "memcpy",
                  "__GI", "pthread", "syscall", "epoll")


def frames(sample):
    out = []
    for line in sample.split("\n")[1:]:
        parts = line.strip().split(" ", 1)
        if len(parts) == 2:
            out.append(re.sub(r"\+0x[0-9a-f]+ \(.*$", "", parts[1]))
    return out


def group(stack):
    leaf = stack[0] if stack else ""
    whole = " ".join(stack)
    kernel = re.fullmatch(r"[a-z_0-9.]+", leaf) and not leaf.startswith(LIBC_OR_SQLITE)
    if kernel:
        if any(k in whole for k in ("vfs_write", "vfs_read", "ext4", "fsync", "pwrite", "pread",
                                    "filemap")):
            return "kernel: file I/O (WAL writes, fsync, reads)"
        if any(k in whole for k in ("futex", "schedule", "epoll", "wake_up")):
            return "kernel: thread sleep/wake (futex, epoll)"
        if any(k in whole for k in ("tcp", "sock", "skb")):
            return "kernel: TCP"
        return "kernel: other"
    if leaf.startswith(LIBC_OR_SQLITE[:7]) or "sqlite" in leaf.lower():
        if "sqlite3Reprepare" in whole:
            return "SQLite: re-preparing statements"
        return "SQLite: executing"
    if any(k in leaf for k in ("malloc", "free", "_int_", "unlink_chunk", "realloc")):
        return "malloc/free"
    if leaf.startswith(("__mem", "memcpy", "__GI_mem")):
        return "memcpy/memcmp"
    if any(k in leaf for k in ("h2::", "hyper", "tonic", "prost", "http::", "tower", "axum",
                               "bytes::")):
        return "gRPC/HTTP/2 (h2, hyper, tonic, prost)"
    if "sqlx" in leaf or "flume" in leaf:
        return "sqlx + its channel (flume)"
    if "sea_orm" in leaf or "sea_query" in leaf:
        return "sea-orm / sea-query"
    if "tokio" in leaf or "mio" in leaf or leaf.startswith(("syscall", "epoll", "pthread",
                                                             "__GI___pthread")):
        return "tokio / libc sync"
    if "serde" in leaf:
        return "serde / JSON"
    if "homecoming" in leaf:
        return "the server's own code"
    return "other"


for path in sys.argv[1:]:
    with open(path) as f:
        samples = [s for s in f.read().split("\n\n") if s.strip()]
    counts = collections.Counter(group(frames(s)) for s in samples)
    print(f"== {path}: {len(samples)} samples")
    for name, n in counts.most_common():
        print(f"  {name:<48} {100 * n / len(samples):5.1f}%")
