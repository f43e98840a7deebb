"""Thin Prefect flows and tasks that wire connectors, schemas, pseudonyms and the warehouse together.

A Prefect worker runs a deployment's flow in a process of its own, which imports its entrypoint
(`flows/<name>.py`) and so this package first: every flow run's files and folders are private to
its user from here on (umask 077, `config.private_files`), whatever mask the worker had.
"""

from config.private_files import restrict

restrict()
