"""The class's own CA, for a class served beyond loopback without the school's certificate or ACME.

Students' browsers trust its root, so its reach is kept small:
- name constraints: certificates under it are valid for the class's name and its subdomains (or, for a
  class at an IP address, that address) and nothing else: no other site, no other address;
- a short life (DAYS, a term), after which `make classroom` makes a new one and says so;
- the root's key is never written: it signs the intermediate (constrained the same way, living as long)
  and is dropped, so only the intermediate's key exists, in the front door's owner-only folder. Whoever
  copies it can make certificates for the class's own names, until the CA expires, and nothing else.
The front door (Caddy) signs its short-lived leaf certificates with the intermediate.

    class_ca.py FOLDER HOST DAYS    keeps the CA in FOLDER if it fits HOST and has a week left, else makes one;
                                    prints one sentence saying which
"""
import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NAME = "streamdemo class CA"
RENEW_BEFORE = datetime.timedelta(days=7)
NO_ADDRESS = [x509.IPAddress(ipaddress.ip_network("0.0.0.0/32")), x509.IPAddress(ipaddress.ip_network("::/128"))]
NO_DNS_NAME = [x509.DNSName("invalid")]  # RFC 6761: no name under .invalid exists


def constraints(host):
    """The names a certificate under the class's CA may carry: host and its subdomains, or host's address."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return x509.NameConstraints(permitted_subtrees=[x509.DNSName(host.lower())] + NO_ADDRESS, excluded_subtrees=None)
    return x509.NameConstraints(permitted_subtrees=[x509.IPAddress(ipaddress.ip_network(ip))] + NO_DNS_NAME,
                                excluded_subtrees=None)


def _certificate(subject, issuer, key, signer, host, until, path_length, now):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(until)
         .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                      crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
         .add_extension(constraints(host), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if signer is not key:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    return b.sign(signer, hashes.SHA256())


def make(host, days, now):
    """(root, intermediate, the intermediate's key) for host, valid days days from now."""
    until = now + datetime.timedelta(days=days)
    root_key, inter_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{NAME} for {host}")])
    inter_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{NAME} for {host} (signing)")])
    root = _certificate(root_name, root_name, root_key, root_key, host, until, 1, now)
    inter = _certificate(inter_name, root_name, inter_key, root_key, host, until, 0, now)
    return root, inter, inter_key  # root_key goes out of scope here: never written


def fits(folder, host, now):
    """True if folder holds a CA for host that is valid for at least another week."""
    try:
        with open(os.path.join(folder, "root.crt"), "rb") as f:
            root = x509.load_pem_x509_certificate(f.read())
        for name in ("intermediate.crt", "intermediate.key"):
            if not os.path.getsize(os.path.join(folder, name)):
                return False
    except (OSError, ValueError):
        return False
    try:
        held = root.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return False
    return held == constraints(host) and root.not_valid_after_utc - now > RENEW_BEFORE


def _write(path, data, mode):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def keep(folder, host, days, now=None):
    """Keeps the CA in folder, or makes one; returns one sentence saying which."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if fits(folder, host, now):
        with open(os.path.join(folder, "root.crt"), "rb") as f:
            until = x509.load_pem_x509_certificate(f.read()).not_valid_after_utc
        return f"the class CA for {host} is kept (valid until {until:%Y-%m-%d})"
    os.makedirs(folder, mode=0o700, exist_ok=True)
    root, inter, key = make(host, days, now)
    pem = serialization.Encoding.PEM
    _write(os.path.join(folder, "intermediate.key"), key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600)
    _write(os.path.join(folder, "intermediate.crt"), inter.public_bytes(pem), 0o600)
    _write(os.path.join(folder, "root.crt"), root.public_bytes(pem), 0o600)  # last: it says the CA is whole
    names = f"{host} and its subdomains" if constraints(host).permitted_subtrees[0].__class__ is x509.DNSName else host
    return (f"a new class CA, for {names} only, valid until {root.not_valid_after_utc:%Y-%m-%d}: "
            "students trust this one (the one they trusted before no longer works)")


if __name__ == "__main__":
    try:
        print(keep(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    except (OSError, ValueError) as e:
        print(f"the class CA could not be made in {sys.argv[1]}: {e}", file=sys.stderr)
        sys.exit(1)
