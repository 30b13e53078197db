"""The hub's XSRF cookie, read so that one a student's page planted cannot stand in for the teacher's.

With an origin per student (origins.py), a student's server at NAME.HOST still shares HOST's cookies:
a page of hers can set cookies for HOST (Domain=HOST), which the browser sends to the hub beside the
teacher's own. The hub's login cookie is a __Host- one that no other host can set
(jupyterhub_config.py), but its XSRF cookie is `_xsrf`, and JupyterHub takes the first `_xsrf` cookie
whose signature is valid. A student holds validly signed ones of her own (her hub session's): planted
for a longer path (/hub/api/), hers comes first, the hub makes the teacher a new token, and every POST
of the teacher's pages is refused. Here the hub takes the `_xsrf` cookie made for the request's own
session and user, and the first valid one only when there is none.
"""
from http.cookies import CookieError, SimpleCookie

MOST = 32  # _xsrf cookies looked at per request: a planted flood costs the hub no more than this


def own_xsrf_cookie(handler):
    """(token, id) of the request's _xsrf cookie made for its own session, else of the first valid one."""
    from jupyterhub import _xsrf_utils

    header = handler.request.headers.get("Cookie")
    first, wanted, seen = (None, None), None, 0
    for chunk in (header or "").split(";"):
        if chunk.partition("=")[0].strip() != "_xsrf":
            continue
        seen += 1
        if seen > MOST:
            break
        try:
            token = SimpleCookie(chunk)["_xsrf"].value.encode("ascii")
        except (CookieError, ValueError, KeyError, UnicodeEncodeError):
            continue
        token_id = _xsrf_utils._get_signed_value_urlsafe(handler, "_xsrf", token)
        if not token_id:
            continue
        if wanted is None:
            wanted = handler._xsrf_token_id
        if token_id == wanted:
            return token, token_id
        if first == (None, None):
            first = (token, token_id)
    return first


def install():
    """Makes the hub read its _xsrf cookie with own_xsrf_cookie (JupyterHub's reader is module-level)."""
    from jupyterhub import _xsrf_utils

    _xsrf_utils._get_xsrf_token_cookie = own_xsrf_cookie
