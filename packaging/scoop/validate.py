"""Validates packaging/scoop/mcp-keybridge.json against Scoop's own JSON schema.

schema.json beside this file is Scoop's schema.json, copied unchanged from
ScoopInstaller/Scoop (commit 7e3dc73b83c92e0e99aa50b599f24c64c79574e2, the last change to
it; Scoop is under the Unlicense or MIT). Run with the interop venv, which has jsonschema
(the MCP SDK depends on it): .venv/bin/python packaging/scoop/validate.py
"""

import json
import pathlib
import sys

import jsonschema

here = pathlib.Path(__file__).resolve().parent
schema = json.loads((here / "schema.json").read_text(encoding="utf-8"))
manifest = json.loads((here / "mcp-keybridge.json").read_text(encoding="utf-8"))

jsonschema.Draft7Validator.check_schema(schema)
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=str)
for error in errors:
    where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    print(f"mcp-keybridge.json: {where}: {error.message}", file=sys.stderr)
if errors:
    sys.exit(1)

# What the schema cannot say: Scoop needs something to download and a command to shim.
arch = manifest.get("architecture", {})
assert manifest.get("url") or all("url" in a for a in arch.values()), "no download url"
assert manifest.get("bin"), "no bin to shim"
print("mcp-keybridge.json: valid against Scoop's schema")
