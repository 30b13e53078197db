"""The class's program: python3 -m classroom COMMAND (docs/classroom/reference.md, docs/classroom-config.md).

    config show|set|unset|env|reference    the class's settings (config.py; every key in schema.py)
    students list|add NAME...|remove NAME...    the roster (students.py)
    collect [--into DIR]                     every student's notebooks, copied read-only (collect.py)
    install                                  the class's shared runtime, every version pinned (runtime.py)
    gotool OUT MODDIR PACKAGE                a Go program pinned by a tool module of the repository (gotool.py)

The class itself still starts and stops through the scripts beside this package (make classroom runs
up.sh with the configuration's values in its environment).
"""
