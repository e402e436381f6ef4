"""One worker of tests/test_shared_limits.py, run as ``python -m tests.shared_limits_worker``.

Arguments: BASE_URL LIMITS_URL RPM COUNT TAG (RPM 0: no requests-per-minute limit). It builds
its `Summarizer`, prints ``ready``, waits for a line on stdin, summarizes COUNT variants of
the seed article tagged TAG, and prints the errors as one JSON line.
"""

from __future__ import annotations

import json
import sys

from summarize import RetryPolicy, Summarizer
from tests.conftest import SEED_ARTICLE


def main() -> None:
    base_url, limits, rpm, count, tag = sys.argv[1:6]
    article = SEED_ARTICLE.read_text(encoding="utf-8")
    summarizer = Summarizer(
        "fake-model",
        base_url=base_url,
        api_key="k",
        limits=limits,
        rpm=int(rpm) or None,
        retry=RetryPolicy(jitter=False),
        cache=False,
    )
    print("ready", flush=True)
    sys.stdin.readline()
    texts = [f"{article}\n\n({tag} {n})" for n in range(int(count))]
    with summarizer:
        batch = summarizer.summarize_many(texts, concurrency=4)
    print(json.dumps({"errors": [repr(e) for e in batch.errors]}), flush=True)


if __name__ == "__main__":
    main()
