"""Pandera contracts: one module per source (raw, lenient text) plus the canonical registration."""
