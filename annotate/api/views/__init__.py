"""API views, one operation per class, grouped by resource."""
