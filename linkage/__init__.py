"""Linkage of a batch's registrations to persons: matches, components, the persons they become."""
