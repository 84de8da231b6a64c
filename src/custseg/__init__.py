"""custseg."""
