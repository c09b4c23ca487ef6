# Sourced by the CI proof scripts: PASS/FAIL bookkeeping with one closing 'N passed, N failed' line.
passed=0 failed=0
check() {  # check NAME CONDITION_EXIT_CODE [LOG]: records a verdict; shows the log's tail on failure
  if [ "$2" -eq 0 ]; then
    echo "PASS $1"; passed=$((passed + 1))
  else
    echo "FAIL $1"; failed=$((failed + 1))
    if [ -n "${3:-}" ]; then tail -30 "$3" | sed 's/^/    | /'; fi
  fi
}
