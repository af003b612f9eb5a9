"""
What user code touches besides the classes: the module-level functions
over the process's default node, C{micro.run}, the marks for app modules
and the loader of app modules.

May import: everything below it (kernel, HTTP, calls, registry, node).
"""
