"""Compare two jobs' results key by key: both values and, for numbers, the difference.

    python examples/compare_results.py JOB_A JOB_B
"""

import argparse

from services.client import Client

p = argparse.ArgumentParser()
p.add_argument("job_a")
p.add_argument("job_b")
args = p.parse_args()

with Client.from_env() as lab:
    a = lab.results(args.job_a).figures()
    b = lab.results(args.job_b).figures()

print(f"{'key':40}  {args.job_a:>22}  {args.job_b:>22}  {'b - a':>10}")
for key in sorted(set(a) | set(b)):
    va, vb = a.get(key, "-"), b.get(key, "-")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (va, vb))
    diff = f"{vb - va:10.4g}" if numbers else ""
    print(f"{key:40}  {str(va)[:22]:>22}  {str(vb)[:22]:>22}  {diff}")
