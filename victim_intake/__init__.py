"""victim-intake: nightly intake of presumed-victim registrations into a pseudonymised warehouse."""
