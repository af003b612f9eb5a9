"""
Pub/sub on the node side: the process's subscriptions, its delivery
endpoint, its publishes, and the object C{create_pubsub_service()} returns.

May import: the kernel, the HTTP plumbing, calls, the node core.
"""
