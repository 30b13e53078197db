"""Where each student's server runs, and her limits there.

With systemd as PID 1 and the class run as root, JupyterHub's SystemdSpawner runs her server as a unit of
its own (jupyter-NAME-singleuser.service) in the students' slice: her memory, task and CPU-weight limits, a
/tmp of her own, the system read-only outside her home. The slice holds all students' servers together,
with limits of its own, so the students together cannot starve the hub, the gateway or the local model.
Elsewhere her server is a process of her account, as before, with no limit: `up` says so in one line.
"""
import os
import subprocess

from classroom.schema import size_bytes
from classroom.settings import die, say

SYSTEMD_RUNS = "/run/systemd/system"  # exists when systemd is PID 1 (sd_booted)
SLICE_DIR = "/run/systemd/system"  # the slice's unit: written at every start, gone at a reboot, as the class is


def choose(wanted, as_root, systemd_runs):
    """The spawner the class uses: systemd or local. wanted is the spawner setting (auto, systemd, local)."""
    if wanted == "local":
        return "local"
    if wanted == "systemd":
        if not systemd_runs:
            die("spawner = systemd needs systemd running this machine (there is no /run/systemd/system): "
                "python3 -m classroom config set spawner=auto, or start the class where systemd is PID 1")
        if not as_root:
            die("spawner = systemd needs the class run as root (each student's server is a unit of her account): "
                "run it as root, or python3 -m classroom config set spawner=auto")
        return "systemd"
    return "systemd" if systemd_runs and as_root else "local"


def spawner_of(c):
    return choose(c["spawner"], c.as_root, os.path.isdir(SYSTEMD_RUNS))


def slice_name(c):
    """The students' slice of the class on this port (systemd nests it: streamdemo.slice/streamdemo-students.slice)."""
    return f"streamdemo-students-{c.port}.slice"


def limits(c):
    """Each student's limits, as the hub's configuration reads them (CLASSROOM_*: bytes, tasks, weight)."""
    return {"CLASSROOM_SPAWNER": spawner_of(c), "CLASSROOM_STUDENT_MEMORY": str(size_bytes(str(c["student_memory"]))),
            "CLASSROOM_STUDENT_TASKS": str(c["student_tasks"]),
            "CLASSROOM_STUDENT_CPU_WEIGHT": str(c["student_cpu_weight"]), "CLASSROOM_STUDENTS_SLICE": slice_name(c)}


def slice_unit(c):
    return f"""[Unit]
Description=the students' servers of the streamdemo classroom on port {c.port}, all together

[Slice]
MemoryAccounting=yes
MemoryMax={size_bytes(str(c["students_memory"]))}
TasksAccounting=yes
TasksMax={c["students_tasks"]}
"""


def prepare(c):
    """Before the hub starts: with the systemd spawner, the students' slice with its limits (applied at once to a
    slice that already runs); else the one line that says students are not limited here."""
    if spawner_of(c) != "systemd":
        say("WARNING: students are not limited on this machine (no systemd as PID 1, or not root, or spawner = local): "
            "one student's fork loop or memory hog can stop the class for everyone (docs/classroom/howto-systemd.md)")
        return
    name = slice_name(c)
    with open(os.path.join(SLICE_DIR, name), "w") as f:
        f.write(slice_unit(c))
    for argv in (["systemctl", "daemon-reload"],
                 ["systemctl", "set-property", "--runtime", name, f"MemoryMax={size_bytes(str(c['students_memory']))}",
                  f"TasksMax={c['students_tasks']}"]):
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode:
            die(f"systemd refused the students' slice ({' '.join(argv[:2])}: {r.stderr.strip()[-200:]}): see "
                f"journalctl -u {name}")
    say(f"students: each her own unit in {name} (memory {c['student_memory']}, tasks {c['student_tasks']}, "
        f"CPU weight {c['student_cpu_weight']}; all together memory {c['students_memory']}, "
        f"tasks {c['students_tasks']})")
