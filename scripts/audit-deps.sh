#!/usr/bin/env bash
# pip-audit every Python package Warden installs: the Function App and dev dependencies (.venv)
# and the infrastructure tools (.venv-tools). Strict: a package that could not be audited is an
# error, so "no known vulnerabilities" always means every package was checked.
#
# Needs a vulnerability service: PyPI's JSON API (pypi.org/pypi/<name>/<version>/json, the
# default) or OSV (api.osv.dev; AUDIT_SERVICE=osv). On a machine that reaches only a package
# mirror, this fails with "Dependency not found on PyPI and could not be audited" - which is why
# it is `make audit`, not part of `make test` (see docs/development.md).
#
# pip-audit lives in its own venv (.venv-audit): its dependencies (packaging 26, cyclonedx 11)
# differ from the tools venv's pins. Each environment is audited as frozen (--no-deps
# --disable-pip): exactly the versions installed, nothing resolved again.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
AUDIT_VENV="${AUDIT_VENV:-.venv-audit}"
SERVICE="${AUDIT_SERVICE:-pypi}"

PINS="$(cat <<'PINS_EOF'
boolean.py==5.0
CacheControl==0.14.4
certifi==2026.10.19.post1
charset-normalizer==3.5.3
cyclonedx-python-lib==11.12.0
defusedxml==0.7.1
filelock==4.3.1
idna==3.20
license-expression==30.4.4
markdown-it-py==4.3.0
mdurl==0.1.2
msgpack==1.2.4
packageurl-python==0.17.6
packaging==26.4
pip-requirements-parser==32.0.1
pip_api==0.0.35
pip_audit==2.10.1
platformdirs==4.14.8
py-serializable==2.2.0
Pygments==2.21.0
pyparsing==3.3.3
requests==2.34.2
rich==15.0.0
sortedcontainers==2.4.0
tomli==2.5.0
tomli_w==1.2.0
typing_extensions==4.16.0
urllib3==2.8.0
PINS_EOF
)"
STAMP="$AUDIT_VENV/.audit-installed"
want="$(printf '%s\n%s\n' "$PYTHON" "$PINS" | sha256sum | cut -d' ' -f1)"
if ! [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    rm -rf "$AUDIT_VENV"
    "$PYTHON" -m venv "$AUDIT_VENV"
    requirements="$(mktemp)"
    printf '%s\n' "$PINS" >"$requirements"
    "$AUDIT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$requirements"
    rm -f "$requirements"
    printf '%s\n' "$want" >"$STAMP"
fi

status=0
for venv in .venv .venv-tools; do
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "audit: $venv is missing; run make setup tools first" >&2
        status=1
        continue
    fi
    frozen="$(mktemp)"
    "$venv/bin/python" -m pip freeze --exclude-editable --disable-pip-version-check >"$frozen"
    echo "audit: $venv ($(wc -l <"$frozen") packages, service $SERVICE)"
    if ! "$AUDIT_VENV/bin/pip-audit" --strict --no-deps --disable-pip --progress-spinner off \
        --vulnerability-service "$SERVICE" -r "$frozen"; then
        status=1
    fi
    rm -f "$frozen"
done
exit "$status"
