"""``DatacovesSubprocessHook``: Airflow's SubprocessHook, which runs a bash command with its output
streaming into the task log, plus stopping whatever is left of the command's process group.

The command runs in a process group of its own (``start_new_session``), led by bash. When the task
ends (succeeded, failed, or killed for exceeding ``execution_timeout``), the operator asks the hook
to stop that group before it removes the repository copy, so that no background job the command
left still writes into it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from datacoves_airflow_provider.compat import SubprocessHook, SubprocessResult

__all__ = ["DatacovesSubprocessHook", "process_group_alive"]

#: Commands longer than this run from a script file in the private scratch folder, not ``bash -c``
#: (Linux caps one argument at 128 KiB).
INLINE_LIMIT = 64 * 1024
#: Seconds the command's process group gets between SIGTERM and SIGKILL when it must stop.
KILL_GRACE_SECONDS = 5.0


class DatacovesSubprocessHook(SubprocessHook):
    """Run a bash command (SubprocessHook's ``run_command``), and stop its process group."""

    def run_bash(
        self, command: str, *, env: dict[str, str], cwd: Path, output_encoding: str, script_dir: Path
    ) -> SubprocessResult:
        """Run ``command`` with bash, its output streaming into the task log.

        Returns SubprocessHook's result (``exit_code``, ``output``: the last line).

        :param command: the bash command.
        :param env: the complete environment of the command.
        :param cwd: the folder to run in.
        :param output_encoding: how to decode the command's output.
        :param script_dir: a private folder where a command too long for ``bash -c`` is written to
            a script.
        """
        bash = shutil.which("bash") or "bash"
        if len(command) > INLINE_LIMIT:
            script = script_dir / f"command-{len(list(script_dir.glob('command-*.sh')))}.sh"
            script.write_text(command)
            argv = [bash, str(script)]
        else:
            argv = [bash, "-c", command]
        return self.run_command(command=argv, env=env, output_encoding=output_encoding, cwd=str(cwd))

    def stop_process_group(self) -> None:
        """Stop whatever is left of the command's process group: SIGTERM, then SIGKILL for what
        still runs :data:`KILL_GRACE_SECONDS` later (idempotent; nothing to do before a command ran).
        """
        proc = self.sub_process
        if proc is None:
            return
        proc.poll()  # reap bash itself if it has exited
        if not process_group_alive(proc.pid):
            return
        self.log.info("Stopping the command's process group %s", proc.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE_SECONDS
        while time.monotonic() < deadline and process_group_alive(proc.pid):
            proc.poll()
            time.sleep(0.05)
        if process_group_alive(proc.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def process_group_alive(pgid: int) -> bool:
    """Whether a running (not zombie) process is left in process group ``pgid``.

    A signal check alone is not enough: a zombie that nobody reaped (PID 1 in some containers
    does not) still counts as a member, and would make every task wait out the grace period.

    :param pgid: the process group, which is the command's bash pid.
    """
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return True  # no /proc: the signal check is all there is
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        state, _ppid, group = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(group) == pgid and state != "Z":
            return True
    return False
