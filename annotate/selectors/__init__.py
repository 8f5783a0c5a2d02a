"""Reads: querysets and plain data for views, the API and exports."""
