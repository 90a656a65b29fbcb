"""The ERP side: canonical views read through SQLAlchemy."""
