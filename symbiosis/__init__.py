"""Cộng sinh công nghiệp — industrial-symbiosis domain package.

Catalogue (Phụ lục II of Plan 56/KH-UBND, materials, exchange rules), the firm/stream
data model, validation, the SQLite/PostgreSQL store, import/export and the CLI.
Nothing in this package imports streamlit.
"""

__version__ = "0.1.0"
