"""What every check script ends with: each problem on its own line, or the one line that says all
is well; the exit code to return."""
import sys


def conclude(tool, found, all_well):
    for problem in found:
        print(f"{tool}: {problem}", file=sys.stderr)
    if found:
        return 1
    print(f"{tool}: {all_well}")
    return 0
