"""Seconds of the pseudonymise stage on one police feed part, with a plain keyed-HMAC baseline.

The stage is what the flow times as `pseudonymise`: registrations with keyed ids and generalised
ages (`pseudonymise`), then the linkage and vault input (`batch_identities`: canonical names,
transliteration, identifiers, Bloom filters, the batch's own approximate matches). The baseline,
timed in the same run on the same records, is one keyed HMAC-SHA256 per record of surname, given
names and birth date as written: what any pseudonymisation costs at the least. Both are printed as
wall-clock and CPU seconds of this process (the run with the least wall-clock time).

    .venv/bin/python bench/bench_pseudonymise.py --records 250000
    .venv/bin/python bench/bench_pseudonymise.py --feed /tmp/feed.ndjson   # the same file again

Without --feed a demo feed of about --records records is written first (one file, hard-variant
share 0.3) and its path printed, so another checkout can be timed on the same input.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import tempfile
import time
from pathlib import Path


def _baseline(records, key: bytes) -> tuple[float, float]:
    from cryptography.hazmat.primitives import hashes, hmac

    values = (records["surname"].fillna("") + "|" + records["given_names"].fillna("") + "|" + records["birth_date"].astype("str")).tolist()
    started, cpu = time.perf_counter(), time.process_time()
    template = hmac.HMAC(key, hashes.SHA256())
    for value in values:
        context = template.copy()
        context.update(value.encode("utf-8"))
        context.finalize()
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=250_000)
    parser.add_argument("--feed", type=Path, help="an existing police feed file (with its manifest)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the fastest is printed")
    arguments = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-pseudonymise-"))
    os.environ["VICTIM_INTAKE_HOME"] = str(home)
    os.environ["VICTIM_INTAKE_PART_MB"] = "4096"  # the whole file is one part
    key = secrets.token_bytes(32)
    os.environ["VICTIM_INTAKE_PSEUDONYM_KEY"] = base64.b64encode(key).decode()
    os.environ["VICTIM_INTAKE_VAULT_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()

    from connectors.files import sha256_of
    from flows.stages import pseudonymise, read, validate
    from sources.police import PoliceSource

    feed = arguments.feed
    if feed is None:
        from victim_intake.synthetic import write_demo_inbox

        summary = write_demo_inbox(home / "inbox", persons=int(arguments.records / 1.23), seed=11, files=1, partners=False, hard_variant_share=0.3)
        feed = summary.files[0]
        print(f"feed written: {feed}")
    source = PoliceSource()
    police = read.fn(source, str(feed), sha256_of(feed))
    raw = next(police.parts())
    validated = validate.fn(source, raw, police)
    records = validated.records
    print(f"{len(records):,} valid records of {len(raw):,}")
    stage, baseline = [], []
    for _ in range(arguments.repeat):
        started, cpu = time.perf_counter(), time.process_time()
        pseudonymise.fn(source, validated, "bench")
        stage.append((time.perf_counter() - started, time.process_time() - cpu))
        baseline.append(_baseline(records, key))
    # CPU seconds beside the wall clock: on a shared machine the wall clock counts others' work too.
    for label, runs in (("pseudonymise stage", stage), ("baseline HMAC", baseline)):
        print(f"{label:<19} {min(runs)[0]:6.2f} s, CPU {min(runs)[1]:6.2f} s  (runs: {', '.join(f'{s:.2f}' for s, _ in runs)})")
    print(f"ratio               {min(stage)[0] / min(baseline)[0]:6.1f}, CPU {min(stage)[1] / min(baseline)[1]:6.1f}")


if __name__ == "__main__":
    main()
