"""
The C{micro} command: inspect, call, publish, subscribe, watch, benchmark
and C{top} a cluster from the shell (C{micro --help}).

It is a client of the registry's JSON commands and of the instances, like
any other tool: L{main} parses the command line with
C{twisted.python.usage} (the option style of the twistd plugins), then
runs the command on the reactor with C{task.react}.  Each command is an
Options class with a C{run(session)} coroutine, in a module per family;
the L{session.Session} is everything a command may reach (the registries,
an HTTP client, a clock, the output), injected so that tests drive every
command against a C{MemoryCluster}.

May import: the kernel, the HTTP plumbing, calls, the node side (its
registry client, a node to host a temporary subscriber) and the app layer
(L{micro.Node}).  Never the registry side: the registry is reached over HTTP.
"""
