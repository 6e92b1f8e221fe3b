#!/usr/bin/env python
import sys

if __name__ == "__main__":
    from aiops import bootstrap

    # Before Django sets up: the data dir, PROMETHEUS_MULTIPROC_DIR, the embedded servers.
    bootstrap.prepare()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
