"""The Procore REST API client of the workers."""
