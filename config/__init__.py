"""The bottom of the project: how a process is set up. Imports no other package of the project.

`config.settings` declares every environment variable the product reads, once, and reads them when
a command or flow asks; `config.private_files` makes what the process writes private to its user;
`config.memory` has the loads give freed memory back to the operating system.
"""
