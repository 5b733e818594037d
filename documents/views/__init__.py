"""Views of the documents app, split by side: partner.py (Mina samarbeten / customer / Dokument),
customer.py (Samarbeten / partner), files.py (upload, download, versions: both sides)."""
