"""Preflight of Tests/e2e/schemathesis.sh: which checks run on which operation.

Loads schemathesis.toml and the schema the way `schemathesis run` does, then prints every
check that is off for an operation and fails if one is off that the .toml does not turn off
for that operation by name (`include-name` and `checks.<name>.enabled = false`), if an
exception selects operations any other way, or if no check is on somewhere. A change of the
.toml or of schemathesis that quietly turns checks off is caught here, before the run.
(`--checks` on the command line is not seen here; the script does not pass it, see there why.)

Usage: python schemathesis_checks.py CONFIG.toml SCHEMA.json
"""
import sys
import tomllib

import schemathesis
from schemathesis.checks import CHECKS, CheckContext, load_all_checks
from schemathesis.config import SchemathesisConfig


def main(config_path: str, schema_path: str) -> int:
    load_all_checks()
    with open(config_path, "rb") as f:
        raw = tomllib.load(f)
    # Each exception must name its operations ("METHOD /path"): schemathesis joins several
    # include keys with OR, so `include-path` next to `include-method` selects far more.
    excepted: dict[str, set[str]] = {}
    problems = 0
    for entry in raw.get("operations", []):
        filters = [key for key in entry if key.startswith(("include-", "exclude-"))]
        if filters != ["include-name"]:
            print(f"schemathesis: an exception selects by {filters}, not by include-name alone", file=sys.stderr)
            problems += 1
            continue
        names = entry["include-name"]
        for label in [names] if isinstance(names, str) else names:
            for name, value in entry.get("checks", {}).items():
                if isinstance(value, dict) and value.get("enabled") is False:
                    excepted.setdefault(label, set()).add(name)
    config = SchemathesisConfig.from_path(config_path)
    schema = schemathesis.openapi.from_path(schema_path, config=config)
    every = set(CHECKS.get_all_names())
    labels = {result.ok().label for result in schema.get_all_operations()}
    for label in sorted(set(excepted) - labels):
        print(f"schemathesis: the exception for {label} names no operation of the schema", file=sys.stderr)
        problems += 1
    for result in schema.get_all_operations():
        operation = result.ok()
        for phase in (None, "stateful"):
            checks = schema.config.checks_config_for(operation=operation, phase=phase)
            context = CheckContext(override=None, auth=None, headers=None, config=checks,
                                   transport_kwargs=None, response_checks=None)
            on = {check.__name__ for check in context.internals.checks}
            off = every - on
            if not on:
                print(f"schemathesis: no check runs on {operation.label}", file=sys.stderr)
                problems += 1
            for name in sorted(off - excepted.get(operation.label, set())):
                print(f"schemathesis: {name} is off for {operation.label} ({phase or 'all phases'}) "
                      "without an exception in the .toml", file=sys.stderr)
                problems += 1
            if phase is None and off:
                print(f"schemathesis: off by exception for {operation.label}: {', '.join(sorted(off))}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
