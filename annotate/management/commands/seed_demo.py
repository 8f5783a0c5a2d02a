"""``manage.py seed_demo [--reset-passwords]``: the demo campaigns and logins.

Creates (if missing) the campaign ``demo`` with items of every task type, gold items and
an attention check; the live-conversation campaign ``demo-conversation``; and the users
``admin`` (superuser), ``annotator`` and ``researcher`` (granted both campaigns), whose
random passwords are printed once. A second run changes nothing and prints no
passwords; ``--reset-passwords`` gives the three users new ones. It also prints the
signed crowd join link of a demo participant (annotate.services.crowd_links).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from annotate.services.crowd_links import join_link
from annotate.services.demo import USERNAMES, demo_attach_models, demo_seed

DEMO_PARTICIPANT = "demo-participant-1"


class Command(BaseCommand):
    help = "Create the demo campaigns and the admin/annotator/researcher logins (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="give admin, annotator and researcher new random passwords and print them",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        report = demo_seed(reset_passwords=opts["reset_passwords"])
        conversation = report.campaigns[-1]
        report.notes.append(demo_attach_models(campaign=conversation))
        if report.existed:
            self.stdout.write(
                "The demo already exists (campaigns "
                + ", ".join(c.slug for c in report.campaigns)
                + "; users "
                + ", ".join(USERNAMES)
                + ")."
            )
        else:
            self.stdout.write("Demo created:")
            for line in report.created:
                self.stdout.write(f"  {line}")
        for note in report.notes:
            self.stdout.write(f"  {note}")
        # A crowd participant enters through a signed link; a bare id is refused.
        demo = report.campaigns[0]
        link = join_link(campaign=demo, participant_id=DEMO_PARTICIPANT, study_id="demo-study")
        self.stdout.write(f"  crowd join link of a demo participant (path on this server): {link}")
        if report.passwords:
            self.stdout.write("Logins (shown only now; seed_demo --reset-passwords makes new):")
            for username, password in report.passwords.items():
                self.stdout.write(f"  {username:<11} {password}")
        else:
            self.stdout.write(
                "Passwords are not shown again; run `manage.py seed_demo --reset-passwords` "
                "for new ones."
            )
