#!/usr/bin/env python3
"""Print Markdown tables of medians from the raw lines that benches/run.sh writes.

Each raw line contains key=value pairs plus run=, variant="..." and args="..." tags. Lines
with core=sansraft are this crate's runs, and lines with core=raft-rs are the baseline's.
For a batch-64 variant, the raft-rs run whose args add --batch-append is its counterpart,
and the raft-rs run with the variant's own args is the reference with batch_append off.
"""

import re
import statistics
import sys
from collections import defaultdict


def parse(path):
    """Return {(core, variant, args): {run: fields}} and the variants in first-seen order."""
    groups = defaultdict(dict)
    order = []
    with open(path) as lines:
        for line in lines:
            variant = re.search(r'variant="([^"]*)"', line).group(1)
            args = re.search(r'args="([^"]*)"', line).group(1)
            fields = dict(re.findall(r'(\w+)=([^\s"]+)', line))
            groups[(fields["core"], variant, args)][int(fields["run"])] = fields
            if variant not in order:
                order.append(variant)
    return groups, order


def median(runs, key):
    return statistics.median(float(fields[key]) for fields in runs.values())


def median_ratio(ours, theirs, key):
    """Median over runs of ours/theirs, pairing the two runs made back to back."""
    shared = sorted(set(ours) & set(theirs))
    if not shared:
        return None
    return statistics.median(float(ours[r][key]) / float(theirs[r][key]) for r in shared)


def counterpart_args(variant):
    batch = re.search(r"--batch (\d+)", variant).group(1)
    return variant if batch == "1" else variant + " --batch-append"


def main_table(groups, order):
    baseline = any(core == "raft-rs" for core, _, _ in groups)
    if baseline:
        print(
            "| variant | sansraft entries/s | raft-rs entries/s | ratio | msgs/entry "
            "(sansraft / raft-rs) | retained B/entry/node (sansraft / raft-rs) | "
            "allocs/entry | peak RSS MiB (sansraft / raft-rs) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
    else:
        print(
            "| variant | entries/s | ns/entry | msgs/entry | entries/append | "
            "retained B/entry/node | allocs/entry | peak RSS MiB |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for variant in order:
        ours = groups.get(("sansraft", variant, variant))
        if not ours:
            continue
        theirs = groups.get(("raft-rs", variant, counterpart_args(variant)))
        if baseline and theirs:
            ratio = median_ratio(ours, theirs, "entries_per_s")
            print(
                f"| `{variant}` | {median(ours, 'entries_per_s'):,.0f} | "
                f"{median(theirs, 'entries_per_s'):,.0f} | {ratio:.2f}x | "
                f"{median(ours, 'msgs_per_entry'):.2f} / {median(theirs, 'msgs_per_entry'):.2f} | "
                f"{median(ours, 'retained_bytes_per_entry_per_node'):.0f} / "
                f"{median(theirs, 'retained_bytes_per_entry_per_node'):.0f} | "
                f"{median(ours, 'allocs_per_entry'):.2f} | "
                f"{median(ours, 'time_maxrss_kib') / 1024:.1f} / "
                f"{median(theirs, 'time_maxrss_kib') / 1024:.1f} |"
            )
        else:
            print(
                f"| `{variant}` | {median(ours, 'entries_per_s'):,.0f} | "
                f"{median(ours, 'ns_per_entry'):,.0f} | {median(ours, 'msgs_per_entry'):.2f} | "
                f"{median(ours, 'entries_per_append'):.2f} | "
                f"{median(ours, 'retained_bytes_per_entry_per_node'):.0f} | "
                f"{median(ours, 'allocs_per_entry'):.2f} | "
                f"{median(ours, 'time_maxrss_kib') / 1024:.1f} |"
            )


def reference_table(groups, order):
    """Batch-64 variants against raft-rs with batch_append off, its default."""
    rows = []
    for variant in order:
        ours = groups.get(("sansraft", variant, variant))
        plain = groups.get(("raft-rs", variant, variant))
        if ours and plain and counterpart_args(variant) != variant:
            rows.append((variant, ours, plain))
    if not rows:
        return
    print("\nraft-rs with batch_append off (its default):\n")
    print("| variant | raft-rs entries/s | msgs/entry | ratio sansraft / raft-rs |")
    print("|---|---:|---:|---:|")
    for variant, ours, plain in rows:
        ratio = median_ratio(ours, plain, "entries_per_s")
        print(
            f"| `{variant}` | {median(plain, 'entries_per_s'):,.0f} | "
            f"{median(plain, 'msgs_per_entry'):.2f} | {ratio:.2f}x |"
        )


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: summarize.py RAW_FILE")
    groups, order = parse(sys.argv[1])
    runs = max(len(runs) for runs in groups.values())
    entries = next(iter(next(iter(groups.values())).values()))["entries"]
    print(f"entries={entries}, runs per variant={runs}, medians:\n")
    main_table(groups, order)
    reference_table(groups, order)


if __name__ == "__main__":
    main()
