"""manage.py threecx_simulator: serve a simulated 3CX V20 XAPI until Ctrl-C or SIGTERM."""

import signal

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.threecx.simulator import Simulator, SimulatorConfig, SimulatorServer
from integrations.threecx.simulator.config import ODATA_COUNTS

_DEFAULTS = SimulatorConfig()


class Command(BaseCommand):
    help = "Serve a simulated 3CX V20 Configuration API (XAPI) for demos and benchmarks."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        # Our --version is the simulated PBX's version; it replaces Django's --version.
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
        parser.add_argument("--seed", type=int, default=_DEFAULTS.seed)
        parser.add_argument("--users", type=int, default=_DEFAULTS.users)
        parser.add_argument("--contacts", type=int, default=_DEFAULTS.contacts)
        parser.add_argument("--groups", type=int, default=_DEFAULTS.groups)
        parser.add_argument("--queues", type=int, default=_DEFAULTS.queues)
        parser.add_argument("--ring-groups", type=int, default=_DEFAULTS.ring_groups)
        parser.add_argument("--receptionists", type=int, default=_DEFAULTS.receptionists)
        parser.add_argument("--trunks", type=int, default=_DEFAULTS.trunks)
        parser.add_argument("--parkings", type=int, default=_DEFAULTS.parkings)
        parser.add_argument("--version", dest="pbx_version", default=_DEFAULTS.version)
        parser.add_argument("--client-id", default=_DEFAULTS.client_id)
        parser.add_argument("--client-secret", default=_DEFAULTS.client_secret)
        parser.add_argument("--token-lifetime", type=int, default=_DEFAULTS.token_lifetime)
        parser.add_argument("--fqdn", default=_DEFAULTS.fqdn)
        parser.add_argument(
            "--no-control-api", action="store_true", help="do not serve /_simulator/"
        )
        parser.add_argument(
            "--max-page-size",
            type=int,
            default=_DEFAULTS.max_page_size,
            help="answer at most N rows per collection page, whatever $top asks",
        )
        parser.add_argument(
            "--odata-count",
            choices=tuple(ODATA_COUNTS),
            default=_DEFAULTS.odata_count,
            help="what @odata.count says: the exact count, none, or a broken server's",
        )
        parser.add_argument(
            "--edge-ids",
            action="store_true",
            help="add users and contacts with Ids at the ends of the int32 range, -1 and 0",
        )
        parser.add_argument(
            "--null-key-fields",
            action="store_true",
            help="add a user with a null Number and contacts with null names and company",
        )
        parser.add_argument(
            "--missing",
            nargs="*",
            default=[],
            metavar="NAME",
            help="entity sets or functions this PBX lacks, as an older 3CX update does "
            "(e.g. InboundRules LicenseStatus): they answer 404",
        )

    def handle(self, *args, **options) -> None:
        try:
            config = self._config(options)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        # A process-wide signal goes to any thread that does not block it. If a server thread
        # takes SIGINT, the main thread sleeping on a lock is never woken and Ctrl-C is
        # ignored. Blocking both signals before the server threads start (they inherit the
        # mask) and taking them with sigwait() makes the main thread the only receiver.
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        try:
            with SimulatorServer(Simulator(config), options["host"], options["port"]) as server:
                self.stdout.write(f"3CX XAPI simulator listening on {server.base_url}")
                self.stdout.write(f"client id: {config.client_id}")
                self.stdout.write(f"client secret: {config.client_secret}")
                self.stdout.write(
                    f"{config.users} users, {config.contacts} contacts, "
                    f"version {config.version}; press Ctrl-C to stop"
                )
                self.stdout.flush()
                signal.sigwait(stop_signals)
            self.stdout.write("stopped")
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)

    @staticmethod
    def _config(options: dict) -> SimulatorConfig:
        return SimulatorConfig(
            seed=options["seed"],
            users=options["users"],
            contacts=options["contacts"],
            groups=options["groups"],
            queues=options["queues"],
            ring_groups=options["ring_groups"],
            receptionists=options["receptionists"],
            trunks=options["trunks"],
            parkings=options["parkings"],
            version=options["pbx_version"],
            client_id=options["client_id"],
            client_secret=options["client_secret"],
            token_lifetime=options["token_lifetime"],
            fqdn=options["fqdn"],
            control_api=not options["no_control_api"],
            max_page_size=options["max_page_size"],
            odata_count=options["odata_count"],
            edge_ids=options["edge_ids"],
            null_key_fields=options["null_key_fields"],
            missing=tuple(options["missing"]),
        )
