"""The command table: every `keel` command, its arguments and its handler (as xl_cmdtable.c)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from keel.cli import cmd_bundle, cmd_control, cmd_domain, cmd_query
from keel.cli.context import Context

Handler = Callable[[Context, argparse.Namespace], int]
Setup = Callable[[argparse.ArgumentParser], None]


def _no_args(p: argparse.ArgumentParser) -> None:
    pass


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Handler
    setup: Setup = _no_args
    json: bool = False  # prints data, so takes --json
    description: str = ""


COMMANDS: tuple[Command, ...] = (
    Command(
        "create",
        "Create a domain from a config file",
        cmd_domain.run_create,
        cmd_domain.setup_create,
        json=True,
        description="Build a PVH domain from an xl.cfg file and start it. KEY=VALUE arguments are added to the "
        "file as extra lines. With -n, print the resolved configuration instead (--json: as JSON).",
    ),
    Command("destroy", "Terminate a domain immediately", cmd_domain.run_destroy, cmd_domain.setup_domain),
    Command(
        "shutdown",
        "Ask a domain to shut down",
        cmd_domain.run_shutdown,
        cmd_domain.setup_shutdown,
        description="Ask the guest to power off; what happens then is its on_poweroff action.",
    ),
    Command("reboot", "Ask a domain to reboot", cmd_domain.run_reboot, cmd_domain.setup_reboot),
    Command("pause", "Pause a domain", cmd_domain.run_pause, cmd_domain.setup_domain),
    Command("unpause", "Unpause a paused domain", cmd_domain.run_unpause, cmd_domain.setup_domain),
    Command(
        "console",
        "Show a domain's console output",
        cmd_domain.run_console,
        cmd_domain.setup_domain,
        description="Follow the domain's console output (its lines in the hypervisor log) until it shuts down. "
        "Console input is not supported yet.",
    ),
    Command("list", "List domains", cmd_query.run_list, cmd_query.setup_list, json=True),
    Command("info", "Show host and hypervisor information", cmd_query.run_info, cmd_query.setup_info, json=True),
    Command("dmesg", "Read the hypervisor log", cmd_query.run_dmesg, cmd_query.setup_dmesg, json=True),
    Command("domid", "Print a domain's id", cmd_domain.run_domid, cmd_domain.setup_domain),
    Command("domname", "Print a domain's name", cmd_domain.run_domname, cmd_domain.setup_domain),
    Command("vcpu-list", "List domains' vCPUs", cmd_query.run_vcpu_list, cmd_query.setup_vcpu_list, json=True),
    Command("vcpu-set", "Set the number of online vCPUs", cmd_control.run_vcpu_set, cmd_control.setup_vcpu_set),
    Command("vcpu-pin", "Set a vCPU's hard CPU affinity", cmd_control.run_vcpu_pin, cmd_control.setup_vcpu_pin),
    Command("mem-set", "Set a domain's current memory", cmd_control.run_mem_set, cmd_control.setup_mem),
    Command("mem-max", "Set a domain's maximum memory", cmd_control.run_mem_max, cmd_control.setup_mem),
    Command(
        "sched-credit",
        "Show or set credit scheduler weight and cap",
        cmd_control.run_sched_credit,
        cmd_control.setup_sched_credit,
        json=True,
        description="Without -w or -c, list the weight and cap of one domain (-d) or of all.",
    ),
    Command(
        "exit-counters",
        "Show per-domain VM exit counters",
        cmd_query.run_exit_counters,
        cmd_query.setup_exit_counters,
        json=True,
    ),
    Command(
        "bundle",
        "Write a boot bundle (manifest, modules, grub.cfg, ISO)",
        cmd_bundle.run_bundle,
        cmd_bundle.setup_bundle,
        json=True,
        description="Turn configs into a directory the hypervisor boots with those domains: the boot manifest, "
        "one module per kernel (a bzImage becomes its PVH ELF) and ramdisk, grub.cfg and keel.iso.",
    ),
    Command(
        "run",
        "Boot configs in QEMU",
        cmd_bundle.run_run,
        cmd_bundle.setup_run,
        description="Bundle the configs into a temporary directory and boot the ISO in QEMU, streaming the serial "
        "console until QEMU exits. Exit status: 0 when the hypervisor powers off, 1 on a panic, 124 on timeout.",
    ),
)

BY_NAME = {c.name: c for c in COMMANDS}
