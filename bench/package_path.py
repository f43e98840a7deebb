"""The packages a registration passes through on its way in, traced on a real file.

One file of a small synthetic inbox (`--source police` or a partner's id) is prepared and loaded
as the nightly flow does, under `sys.setprofile`. Every call of a project function that receives
the registration's data (a frame or Arrow table of its rows, a raw or validated part, its
identities, a prepared part) is recorded with its top-level package, in call order; `flows`, which
only hands the parts from stage to stage, is left out. Consecutive calls in one package are one
stay; a change is a stay in another package. Three counts are printed, coarse to fine:

- owners: the calls `flows` makes itself (the owner of each step: read, validate, prepare, load);
- owners and what they call directly (connectors under the read, schemas under validation,
  pseudonyms, linkage and vault under the preparation, linkage, vault and store under the load);
- every call, however deep, returns to a caller included.

    .venv/bin/python bench/package_path.py --source police
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
import tempfile
import uuid
from pathlib import Path

PROJECT = {"config", "schemas", "disclosure", "connectors", "pseudonyms", "store", "vault", "linkage", "sources", "warehouse"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="police")
    arguments = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-path-"))
    os.environ["VICTIM_INTAKE_HOME"] = str(home)
    os.environ["VICTIM_INTAKE_PSEUDONYM_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    os.environ["VICTIM_INTAKE_VAULT_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()

    import pandas as pd
    import pyarrow as pa

    from config.settings import current
    from connectors.files import sha256_of
    from connectors.tabular import TextTable
    from flows.ahead import part_supply
    from flows.loading import load
    from flows.nightly import prepare_warehouse
    from flows.stage_clock import StageClock
    from flows.stages import FileJob
    from pseudonyms.person_identities import PersonIdentities
    from sources.contract import Validated
    from sources.partner import TablePart
    from sources.prepare import PreparedPart
    from store.clock import utc_now
    from store.engines import shared_engine
    from victim_intake.synthetic import write_demo_inbox
    from warehouse.ledger import BatchRecord, start_run

    data_types = (pd.DataFrame, pd.Series, pa.Table, pa.Array, TextTable, TablePart, Validated, PersonIdentities, PreparedPart)
    summary = write_demo_inbox(home / "inbox", persons=50, seed=1, files=1)
    path = summary.files[0] if arguments.source == "police" else next(p for p in summary.partner_files if p.parent.name == arguments.source)
    prepare_warehouse()
    start_run(shared_engine(current().warehouse_url), "path")

    calls: list[tuple[str, str, int]] = []  # package, function, depth below `flows`

    def traced(frame, event, _argument) -> None:
        package = frame.f_globals.get("__name__", "").split(".")[0]
        if event == "call":
            below = 0
            caller = frame.f_back
            while caller is not None and caller.f_globals.get("__name__", "").split(".")[0] != "flows":
                if caller.f_globals.get("__name__", "").split(".")[0] in PROJECT:
                    below += 1
                caller = caller.f_back
            if package in PROJECT:
                code = frame.f_code
                names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
                if code.co_name == "parts" or any(isinstance(frame.f_locals.get(name), data_types) for name in names):
                    calls.append((package, f"{frame.f_globals['__name__']}.{code.co_qualname}", below))

    batch = BatchRecord(uuid.uuid4().hex, "path", arguments.source, path.name, sha256_of(path), utc_now())
    job = FileJob(str(path), batch.file_sha256, batch.batch_id, arguments.source)
    with part_supply([]) as supply:
        sys.setprofile(traced)
        try:
            load.fn(batch, job, supply, StageClock())
        finally:
            sys.setprofile(None)

    def changes(sequence: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
        merged: list[tuple[str, str, int]] = []
        for call in sequence:
            if not merged or merged[-1][0] != call[0]:
                merged.append(call)
        return merged

    for label, most in (("owners", 0), ("owners and their direct calls", 1), ("every call", None)):
        path = changes([call for call in calls if most is None or call[2] <= most])
        print(f"{label}: {len(path) - 1} package changes")
        print("  " + " -> ".join(package for package, _, _ in path))

if __name__ == "__main__":
    main()
