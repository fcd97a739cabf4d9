"""Measured round trips along the paths the stack uses: a service's port from its own network
namespace (localhost), from a dependant's namespace across the bridge (through the engine's DNS),
and from the host through the published port. `paths` finds them in the files and the running
containers, `helper` is the small process that enters a namespace and times the requests,
`measure` runs the helpers and gathers their figures, `compare` prices the other layout.
"""
