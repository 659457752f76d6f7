"""The clinic's configuration as checked values: models, types, checks, findings."""
