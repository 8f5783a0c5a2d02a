"""Export building blocks with no Django: shapes, privacy (k-anonymity), schemas, writers."""
