"""The Newsroom views service: counts every article read once and serves popularity."""
