#!/usr/bin/env bash
# Runs every fuzzer of the repository (this module and the go-smtp copy in
# third_party/go-smtp) for a few seconds each: a smoke run that catches a
# fuzzer that no longer builds, a seed that now fails, or a crash found
# quickly. Long fuzzing is a separate job:
#   go test -run '^$' -fuzz '^FuzzName$' ./internal/pkg
#
# Each package's test binary is built once with the fuzzing
# instrumentation, then run once per fuzzer (go test -fuzz takes one fuzzer
# per run and would link the binary again each time). The corpus goes to
# go test's own cache ($GOCACHE/fuzz), and a failing input is written to
# the package's testdata/fuzz/FuzzName/, as with go test -fuzz.
#
#   FUZZTIME  time per fuzzer (default 3s)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzztime=${FUZZTIME:-3s}
cache=$(go env GOCACHE)/fuzz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Directories whose tests declare a fuzzer, in a stable order.
mapfile -t dirs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' cmd internal third_party 2>/dev/null |
  xargs -r -n1 dirname | sort -u)
[ ${#dirs[@]} -gt 0 ] || { echo "fuzz-smoke: no fuzzers found" >&2; exit 1; }

start=$SECONDS
ran=0
failed=()
for d in "${dirs[@]}"; do
  mapfile -t names < <(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(f \*testing\.F\).*/\1/p' "$d"/*_test.go | sort -u)
  pkg=$(cd "$d" && go list .)
  bin=$tmp/$(echo "$pkg" | tr / _).test
  if ! (cd "$d" && go test -c -fuzz . -o "$bin" .); then
    failed+=("$pkg (build)")
    continue
  fi
  for name in "${names[@]}"; do
    echo "fuzz-smoke: $pkg $name ($fuzztime)"
    ok=0
    for try in 1 2; do
      if (cd "$root/$d" && "$bin" -test.run '^$' -test.fuzz "^$name\$" -test.fuzztime "$fuzztime" \
        -test.fuzzcachedir "$cache/$pkg" >"$tmp/out" 2>&1); then
        ok=1
        break
      fi
      cat "$tmp/out"
      # A slow target (an SMTP session per input) can still be running an
      # input when the fuzz time ends; the engine then reports "context
      # deadline exceeded" without a failing input. That is tried once more;
      # a failing input never is.
      if [ "$try" = 1 ] && grep -q "context deadline exceeded" "$tmp/out" && ! grep -q "Failing input" "$tmp/out"; then
        echo "fuzz-smoke: $pkg $name: the fuzz time ended inside an input; once more"
        continue
      fi
      break
    done
    [ "$ok" = 1 ] || failed+=("$pkg $name")
    ran=$((ran + 1))
  done
done
echo "fuzz-smoke: $ran fuzzers in ${#dirs[@]} packages, $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz-smoke: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
