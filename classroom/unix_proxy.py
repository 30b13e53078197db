"""UnixSocketProxy: configurable-http-proxy with routes to Unix sockets the hub keeps.

configurable-http-proxy (5.x) routes to a Unix socket given as http+unix://%2Fpath%2Fto.sock, but JupyterHub
takes only http(s) URLs for its services and its extra routes. The class's gateway listens on a socket in
its own folder, which no other account can take first as it could a loopback port; its routes are extra
routes this proxy accepts. JupyterHub puts extra routes back when it checks its routes (every few minutes);
this proxy also puts them back at once when it restarts the proxy.
"""
import os
from urllib.parse import quote

from jupyterhub.proxy import ConfigurableHTTPProxy
from traitlets import Bunch, validate

SOCKET_SCHEME = "http+unix://%2F"
STAND_IN = "http://unix-socket.invalid"  # what JupyterHub's own checks see in place of a socket's URL


def socket_url(path):
    """A Unix socket's path as JupyterHub and configurable-http-proxy write it."""
    return "http+unix://" + quote(path, safe="")


def proxy_api_socket(gateway_dir):
    """The proxy's API socket, beside the gateway's folder in a folder root alone opens (made here). Its path is
    read back as a URL's host, which JupyterHub lowercases: a path with a capital letter is refused."""
    folder = os.path.join(os.path.dirname(gateway_dir), "proxy")
    if folder != folder.lower():
        raise SystemExit(f"the proxy's API socket would be in {folder}, whose capital letters JupyterHub cannot keep: "
                         "set CLASS_VAR to a folder without them")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return os.path.join(folder, "api.sock")


class UnixSocketProxy(ConfigurableHTTPProxy):
    """configurable-http-proxy whose extra routes may lead to Unix sockets."""

    @validate("extra_routes")
    def _validate_extra_routes(self, proposal):
        """JupyterHub's checks of the routes (their hosts and slashes), a socket's URL standing in for an http one."""
        sockets = {spec.rstrip("/") + "/": target for spec, target in proposal.value.items() if target.startswith(SOCKET_SCHEME)}
        stand_in = {spec: STAND_IN if target.startswith(SOCKET_SCHEME) else target for spec, target in proposal.value.items()}
        checked = super()._validate_extra_routes(Bunch(proposal, value=stand_in))
        return {spec: sockets[spec] if target == STAND_IN else target for spec, target in checked.items()}

    async def restore_routes(self):
        await super().restore_routes()
        for routespec, target in self.extra_routes.items():
            await self.add_route(routespec, target, {"extra": True})
