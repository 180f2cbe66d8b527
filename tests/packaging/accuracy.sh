# Sourced by the consumer tests: check_accuracy OUTPUT prints the program's
# output and fails the test unless its "accuracy X" is at least 0.85 (the
# consumers' small MLP reaches about 0.98).
check_accuracy() {
  echo "$1"
  local accuracy
  accuracy=$(echo "$1" | sed -n 's/.*accuracy \([0-9.]*\).*/\1/p')
  python3 -c "import sys; sys.exit(0 if float('${accuracy:-0}') >= 0.85 else 1)" ||
    { echo "FAIL: accuracy '${accuracy}' is below 0.85"; exit 1; }
}
