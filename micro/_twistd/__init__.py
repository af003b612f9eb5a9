"""
The two twistd commands, C{micro-registry} and C{micro-service}: their
options and the services they build.

May import: everything below it, the app layer included.
"""
