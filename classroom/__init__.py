"""The class's program: python3 -m classroom COMMAND (docs/classroom/reference.md, docs/classroom-config.md).

    up                                       start the class, or bring it in line with the roster (up.py)
    down                                     stop it; accounts, notebooks, passwords and the ledger stay (down.py)
    status                                   what of it runs (status.py)
    remove                                   the end of a course: its accounts, homes and state go (down.py)
    service                                  its systemd units, enabled at boot (service.py)
    config show|set|unset|env|reference      the class's settings (config.py; every key in schema.py)
    students list|add NAME...|remove NAME... the roster (students.py)
    collect [--into DIR]                     every student's notebooks, copied read-only (collect.py)
    publish                                  the teacher's HEAD to the class's lessons.git (lessons.py)
    handout                                  a printable card per student: address, login, password (handout.py)
    frontdoor check|start|stop|status|url|run|ready|reload    the HTTPS front door (frontdoor.py)
    install                                  the class's shared runtime, every version pinned (runtime.py)
    gotool OUT MODDIR PACKAGE                a Go program pinned by a tool module of the repository (gotool.py)

A class is settings.Class: its settings and where it keeps what. Where systemd does not supervise it, procs.py
starts and stops its processes (the hub, which starts its proxy and services; the practice server; the front
door); where it does, units.py starts the gateway and the practice server as units of their own.

Imports point down: the commands above; the class's parts (hub, practice, accounts, upstream, upstream_key,
sandbox, units, firewall, ports, roster); the base (settings, procs, config, schema). JupyterHub loads the hub's
side (jupyterhub_config.py and what it imports), which imports no command. More:
docs/classroom/explanation-architecture.md.
"""
