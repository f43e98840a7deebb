"""Keys, canonicalisation and keyed pseudonyms: the only code that sees identities in clear."""
