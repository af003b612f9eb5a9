"""
HTTP plumbing, knowing nothing of services or registries.

micro's hot paths bypass treq and Klein (measured in bench/): one lean
outbound client over a checked persistent pool, and a Site whose channels
refuse oversized heads with a 431 and whose requests may hand their body
to a streaming resource as it arrives.  A Site whose root says which
requests it serves lean (calls, deliveries, registry commands) reads those
on a lean channel (lean.py) with no twisted.web request at all, and lends
the connection to twisted.web for any other.

May import: the kernel.
"""
