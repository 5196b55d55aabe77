"""Benchmark: scrubbing the probe's addresses from a large page body.

Usage: .venv/bin/python bench/scrub_bench.py [--kib N] [--seed S]

The body is the one tests/probe/test_scrub.py checks for correctness: HTML with dates,
versions, hashes, CSS and a few addresses (the probe's and others), N KiB (512 by default).
Timed best-of-5 with one scrubber built per run, as the probe builds one per measurement.
The last line printed is ``ms=<best time>``; the target is under 50 ms for 512 KiB.
"""

from __future__ import annotations

import argparse
import random
import time

from netvigil.probe.scrub import Scrubber

V4, V6 = "1.2.3.4", "2001:db8:85a3::8a2e:370:7334"
WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"]


def body(kib: int, seed: int) -> bytes:
    rnd, chunks, size = random.Random(seed), [], 0
    while size < kib * 1024:
        address = rnd.choice([V4, V6, f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.0.1"])
        chunk = (
            f'<div class="col-md-{rnd.randint(1, 12)}" data-ts="2024-01-{rnd.randint(1, 28):02d}">'
            f'<a href="https://cdn.example/lib-{rnd.randint(1, 9)}.{rnd.randint(0, 99)}.0.min.js'
            f'?v={rnd.getrandbits(64):016x}">{" ".join(rnd.choices(WORDS, k=40))}</a> '
            f"{rnd.randint(0, 10**6)} served by {address} at 12:{rnd.randint(10, 59)}:00</div>\n"
        )
        chunks.append(chunk)
        size += len(chunk)
    return "".join(chunks).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kib", type=int, default=512, help="body size in KiB")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the body")
    options = parser.parse_args()
    page = body(options.kib, options.seed)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        Scrubber([V4, V6]).data(page)
        times.append(time.perf_counter() - start)
    print(f"body={len(page)} bytes runs={len(times)}")
    print(f"ms={min(times) * 1000:.1f}")


if __name__ == "__main__":
    main()
