"""zhikong serve: the archive in a browser (pages, accounts, JSON API)."""
