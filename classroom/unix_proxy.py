"""UnixSocketProxy: configurable-http-proxy with routes to Unix sockets the hub keeps.

configurable-http-proxy (5.x) routes to a Unix socket given as http+unix://%2Fpath%2Fto.sock, but JupyterHub
takes only http(s) URLs for its services and its extra routes. The class's gateway listens on a socket in
its own folder, which no other account can take first as it could a loopback port; its route is one of
the extra routes this proxy accepts. JupyterHub puts extra routes back when it checks its routes (every
few minutes); this proxy also puts them back at once when it restarts the proxy.
"""
from urllib.parse import quote

from jupyterhub.proxy import ConfigurableHTTPProxy
from traitlets import validate


def socket_url(path):
    """A Unix socket's path as JupyterHub and configurable-http-proxy write it."""
    return "http+unix://" + quote(path, safe="")


class UnixSocketProxy(ConfigurableHTTPProxy):
    """configurable-http-proxy whose extra routes may lead to Unix sockets."""

    @validate("extra_routes")
    def _validate_extra_routes(self, proposal):
        for routespec, target in proposal.value.items():
            if not routespec.endswith("/") or not target.startswith(("http://", "https://", "http+unix://%2F")):
                raise ValueError(f"extra route {routespec!r} -> {target!r}: a path ending in / to an http(s) or http+unix URL")
        return proposal.value

    async def restore_routes(self):
        await super().restore_routes()
        for routespec, target in self.extra_routes.items():
            await self.add_route(routespec, target, {"extra": True})
