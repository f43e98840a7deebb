"""Thin Prefect flows and tasks that wire connectors, schemas, pseudonyms and the warehouse together."""
