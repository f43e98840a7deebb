"""The vault: sealing, its entries (one per registration) and the owners of identifiers linkage looks up."""
