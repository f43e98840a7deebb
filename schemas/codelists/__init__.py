"""Code lists shipped with the project: municipalities (with former ones), sectors and reporting units.

The lists are package data (`catalogue.yaml` names each file with its vintage and source); places,
sectors and units are stored as codes from them, never as the text a source typed
(`schemas.coding`). See docs/code-lists.md.
"""
