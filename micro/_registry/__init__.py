"""
The registry process: its state (instances held on node leases, the
change log), the long-poll watches that carry changes to every node, the
JSON commands on C{POST /} and the server that listens for them.  Its
features live in subpackages: L{routes} (the front door's route table and
proxy) and L{pubsub} (subscriptions and fan-out).

May import: the kernel, the HTTP plumbing, calls.  Never the node side.
"""
