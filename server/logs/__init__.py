"""Log lines of runs: storage and the paged API."""
