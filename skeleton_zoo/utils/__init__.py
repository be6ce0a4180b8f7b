"""Small helpers with one job each: `files` (atomic writes) and `timing`."""
