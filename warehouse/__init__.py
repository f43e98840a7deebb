"""The warehouse: tables, the ledger of deliveries, and transactional bulk loads."""
