"""Fakes of external systems at the wire: local HTTP servers the real clients talk to."""
