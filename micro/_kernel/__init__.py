"""
The shared kernel: what every part of micro speaks.

Errors, the wire vocabulary (header names, framework paths, shared
timeouts), the body codec, the syntax of names, locations, routes and
channels, settings from the environment, and small Deferred helpers.

May import: nothing else of micro.
"""
