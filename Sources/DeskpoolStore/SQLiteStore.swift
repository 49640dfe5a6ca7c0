// Placeholder until the SQLite store lands in this target.
