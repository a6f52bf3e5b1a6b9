#!/usr/bin/env bash
# Runs cfn-lint (with the repository's .cfnlintrc) on every template in the given directories and
# fails on any error or on any warning .cfnlintrc does not set aside. The test task collects the
# templates every test synthesizes into cdk.out/test-templates (test/cfn-lint/collect-templates.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "cfn-lint-templates: cfn-lint is not installed (it comes with the CI image's Python 3.11 through pyenv;" \
    "elsewhere: pip install 'cfn-lint==1.51.*'). The build lints every synthesized template and cannot go on without it." >&2
  exit 127
fi
[ "$#" -gt 0 ] || set -- cdk.out/test-templates

files=()
for dir in "$@"; do
  if [ ! -d "$dir" ]; then
    echo "cfn-lint-templates: $dir does not exist: no template was collected (run the tests through 'npx projen test')." >&2
    exit 1
  fi
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$dir" -name '*.template.json' -print0 | sort -z)
done
if [ "${#files[@]}" -eq 0 ]; then
  echo "cfn-lint-templates: no template in $*" >&2
  exit 1
fi

echo "cfn-lint $(cfn-lint --version 2>&1 | awk '{print $2}') on ${#files[@]} templates ($*)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Two processes: the build machines have two cores.
status=0
printf '%s\0' "${files[@]}" | xargs -0 -n 25 -P 2 cfn-lint --config-file .cfnlintrc --format parseable -- >"$out" 2>&1 || status=$?
errors=$(grep -c ':E[0-9]' "$out" || true)
warnings=$(grep -c ':W[0-9]' "$out" || true)
echo "cfn-lint: ${errors} errors, ${warnings} warnings (after .cfnlintrc) in ${#files[@]} templates"
if [ "$status" -ne 0 ] || [ "$errors" -ne 0 ] || [ "$warnings" -ne 0 ]; then
  cat "$out" >&2
  exit 1
fi
