"""Bulletins on the web: the periods issued, their DOCX and PDF, and the current one made on request."""
