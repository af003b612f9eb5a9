"""
Fixtures of the end-to-end tests that several modules share.
"""

from tests._conformance import front_door, target  # noqa: F401  (the HTTP conformance tests' cluster)
