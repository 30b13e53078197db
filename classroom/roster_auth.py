"""RosterAuthenticator: one generated password per person on the roster.

The passwords file (owner-only, written by python3 -m classroom up) holds one "name password"
line per student and one for the teacher. It is read on every login, so a
student added to the roster by `make classroom` can log in without a hub
restart, and a password replaced in the file takes effect at once. Nothing
else logs in: no shared password, no sign-up.
"""
import hmac
import os
import stat

from jupyterhub.auth import Authenticator
from traitlets import Unicode


class RosterAuthenticator(Authenticator):
    """Checks a login against the class's owner-only passwords file."""

    passwords_file = Unicode(help="File of 'name password' lines, readable by the hub's user only.").tag(config=True)

    def _passwords(self):
        st = os.stat(self.passwords_file)
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PermissionError(f"{self.passwords_file} is readable by others: chmod 600 it")
        entries = {}
        with open(self.passwords_file) as f:
            for line in f:
                name, _, password = line.strip().partition(" ")
                if name and password:
                    entries[name] = password
        return entries

    async def authenticate(self, handler, data):
        name = self.normalize_username(data.get("username", ""))
        given = data.get("password", "")
        want = self._passwords().get(name)
        if want is None or not hmac.compare_digest(given.encode(), want.encode()):
            self.log.warning("Failed login for %r", name)
            return None
        return name

    async def check_allowed(self, username, authentication=None):
        return username in self._passwords()
