"""Issued documents: rendering (`render`), issuing and reading them (`app/services/documents.py`)."""
