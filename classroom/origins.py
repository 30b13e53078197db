"""Where a class serves what, so that no page a student can publish shares an origin with the hub, the
teacher's page or another student's server.

JupyterHub's answer to users who publish HTML is one origin per user (`JupyterHub.subdomain_host`):
the hub at HOST, each student's server at NAME.HOST, each service with a URL at NAME--service.HOST
(the teacher's page: llm--service.HOST). The loopback class uses `localhost` (browsers resolve every
NAME.localhost to this machine and refuse cookies for `localhost` itself from a subdomain); a class
beyond loopback needs a DNS name whose subdomains reach the front door, and a certificate for them
(the class CA's, the school's `*.NAME`, or one ACME certificate per name). A class at an IP address
has no subdomains: one origin for everything (`separation` says so).

Run by the hub's configuration (imported) and by the classroom scripts (the runtime venv's Python,
which has JupyterHub and cryptography):

    origins.py separation HOST PORT HTTPS_PORT    one sentence: what is and is not separated
    origins.py urls HOST PORT HTTPS_PORT          the hub's origin, the teacher's page, a student's server
    origins.py names HOST NAME...                  the names to serve: HOST, the gateway's, each user's
    origins.py covers CERT HOST                     status 1 and one sentence unless CERT covers HOST and *.HOST
"""
import ipaddress
import sys

LOOPBACK = ("127.0.0.1", "localhost")
GATEWAY = "llm"  # the hub service whose page is the teacher's


def kind(host):
    """loopback, ip or name: how a class at host can be separated."""
    if host in LOOPBACK:
        return "loopback"
    try:
        ipaddress.ip_address(host.strip("[]"))
        return "ip"
    except ValueError:
        return "name"


def hub_host(host):
    """The host name of the hub itself: localhost for the loopback class."""
    return "localhost" if kind(host) == "loopback" else host


def subdomain(name, host, kind_of="user"):
    """The host a user's server (or a service's page) has under the hub's host: JupyterHub's own rule
    (its default subdomain hook), so this and the hub always agree."""
    from jupyterhub.utils import subdomain_hook_idna

    return subdomain_hook_idna(name, hub_host(host), kind_of)


def page_host(host):
    """The host of the teacher's page (the gateway, hub service "llm"): llm--service.HOST."""
    return subdomain(GATEWAY, host, "service")


def origin(host_name, scheme, port, default_port):
    """scheme://host[:port], the port left out when it is the scheme's own."""
    return f"{scheme}://{host_name}" + ("" if port == default_port else f":{port}")


def urls(host, port, https_port):
    """(hub's origin, the teacher's page, one student's server as a pattern) for the class at host."""
    if kind(host) == "loopback":
        scheme, p, default = "http", port, 80
    else:
        scheme, p, default = "https", https_port, 443
    h = hub_host(host)
    if kind(host) == "ip":
        hub = origin(f"[{h}]" if ":" in h else h, scheme, p, default)
        return hub, f"{hub}/services/{GATEWAY}/", f"{hub}/user/NAME/"
    return (origin(h, scheme, p, default), origin(page_host(host), scheme, p, default)
            + f"/services/{GATEWAY}/", origin("NAME." + h, scheme, p, default) + "/user/NAME/")


def separation(host, port, https_port):
    """What `make classroom` says at start about origins."""
    hub, page, student = urls(host, port, https_port)
    if kind(host) == "ip":
        return (f"origins: a class at an IP address has one origin, {hub}: a page a student publishes there has "
                "the hub's and the teacher's page's origin, so opened by the teacher it can act as the teacher, "
                "and students' servers are not kept apart either. To keep them apart, give the class a DNS name "
                "whose subdomains reach this machine (CLASSROOM_HOST=NAME, with NAME and *.NAME in DNS)")
    return (f"origins: the hub at {hub}, the teacher's page at {page}, each student's server at {student}: "
            "no page a student publishes shares an origin with the hub, the teacher's page or another student")


def names(host, users):
    """Every host name the class serves: the hub's, the teacher's page's, each user's server's."""
    return [hub_host(host), page_host(host)] + [subdomain(u, host) for u in users]


def _san_names(cert):
    from cryptography import x509

    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [n.lower() for n in ext.get_values_for_type(x509.DNSName)]


def laptops(host, port, https_port):
    """The base URL a student's own program (CLI, notebook, any chat-completions client) sets to reach the
    gateway: the teacher's page's origin beyond loopback (a program sends its token, never a cookie), and on
    loopback the address the proxy routes for programs, since they do not resolve NAME.localhost."""
    if kind(host) == "loopback":
        return f"http://127.0.0.1:{port}/services/{GATEWAY}/v1"
    return urls(host, port, https_port)[1] + "v1"


def uncovered(cert_file, host):
    """Of HOST and *.HOST, the names the certificate in cert_file does not cover (a wildcard covers one label)."""
    from cryptography import x509

    with open(cert_file, "rb") as f:
        have = _san_names(x509.load_pem_x509_certificates(f.read())[0])
    host = host.lower()
    parent = host.split(".", 1)[1] if "." in host else None
    missing = [] if host in have or (parent and "*." + parent in have) else [host]
    return missing + ([] if "*." + host in have else ["*." + host])


def main(argv):
    """The scripts' entry point: prints what was asked, or one sentence on stderr and status 1."""
    what, args = argv[1], argv[2:]
    if what == "separation":
        print(separation(args[0], int(args[1]), int(args[2])))
    elif what == "urls":
        print("\n".join(urls(args[0], int(args[1]), int(args[2]))))
    elif what == "laptops":
        print(laptops(args[0], int(args[1]), int(args[2])))
    elif what == "names":
        print("\n".join(names(args[0], args[1:])))
    elif what == "covers":
        try:
            missing = uncovered(args[0], args[1])
        except (OSError, ValueError, IndexError) as e:
            print(f"the certificate {args[0]} could not be read as PEM ({e}): name the school's certificate file",
                  file=sys.stderr)
            return 1
        if missing:
            print(f"the certificate {args[0]} does not cover {' and '.join(missing)}: each student's server has a "
                  f"name of its own under {args[1]}, so the certificate must name both {args[1]} and *.{args[1]}",
                  file=sys.stderr)
            return 1
    else:
        print(f"origins.py: no command {what!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
