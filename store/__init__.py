"""The database helpers every layer above uses: tables, engines, bulk reads and writes, locks."""
