"""Hub services, wired together by :class:`Hub` (one per app; tests build one around a fake clock)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.services.agents import AgentAccounts
from hub.services.background import BackgroundTasks
from hub.services.canned import CannedReply, load_canned_replies
from hub.services.clock import Clock, SystemClock
from hub.services.conversations import ConversationService
from hub.services.customers import BotChannel, CustomerService
from hub.services.desk import AgentDesk
from hub.services.events import EventBus
from hub.services.handoffs import HandoffService
from hub.services.identity_checks import IdentityCheckService
from hub.services.presence import PresenceService
from hub.services.queues import QueueService
from hub.services.rasa import RasaClient, RasaTrackerSync, TrackerSync
from hub.services.routing import Router
from hub.services.sweeper import Sweeper
from hub.services.tickets import TicketService
from hub.services.video import VideoService
from hub.settings import Settings
from hub.storage import Store


@dataclass
class Hub:
    settings: Settings
    clock: Clock
    store: Store
    bus: EventBus
    tasks: BackgroundTasks
    tracker: TrackerSync
    bot: BotChannel
    conversations: ConversationService
    router: Router
    queues: QueueService
    presence: PresenceService
    accounts: AgentAccounts
    tickets: TicketService
    handoffs: HandoffService
    customers: CustomerService
    desk: AgentDesk
    sweeper: Sweeper
    video: VideoService
    identity_checks: IdentityCheckService
    canned_replies: list[CannedReply]
    rasa: RasaClient | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        store: Store | None = None,
        bot: BotChannel | None = None,
        tracker: TrackerSync | None = None,
    ) -> Hub:
        """Wire every service. Without ``bot``/``tracker`` a real Rasa client for ``settings.rasa_url`` is used."""
        clock = clock or SystemClock()
        store = store or Store(settings.database_url)
        bus = EventBus()
        tasks = BackgroundTasks()
        rasa = None
        if bot is None or tracker is None:
            rasa = RasaClient(settings.rasa_url, settings.rasa_timeout, token=settings.rasa_token)
        if bot is None:
            bot = rasa
        if tracker is None:
            assert rasa is not None
            tracker = RasaTrackerSync(rasa, tasks)
        assert bot is not None
        conversations = ConversationService(store, clock, bus, tracker)
        router = Router(store, conversations)
        queues = QueueService(store, clock, bus, router, auto_assign=settings.auto_assign)
        presence = PresenceService(store, clock, conversations, queues)
        tickets = TicketService(store, clock, settings, conversations)
        handoffs = HandoffService(settings, clock, conversations, queues, presence, tickets)
        return cls(
            settings=settings,
            clock=clock,
            store=store,
            bus=bus,
            tasks=tasks,
            tracker=tracker,
            bot=bot,
            conversations=conversations,
            router=router,
            queues=queues,
            presence=presence,
            accounts=AgentAccounts(store, clock, bcrypt_rounds=settings.bcrypt_rounds),
            tickets=tickets,
            handoffs=handoffs,
            customers=CustomerService(store, clock, bus, conversations, queues, handoffs, bot, tracker),
            desk=AgentDesk(store, clock, bus, conversations, router, queues),
            sweeper=Sweeper(store, clock, bus, conversations, queues, presence, tickets),
            video=VideoService(store, bus, conversations, settings.ice_servers),
            identity_checks=IdentityCheckService(store, clock, bus, settings.timezone),
            canned_replies=load_canned_replies(),
            rasa=rasa,
        )

    def start(self) -> None:
        """Create the schema and the demo accounts (call once, before serving)."""
        self.store.create_schema()
        if self.settings.seed_demo:
            self.accounts.seed_demo()

    async def close(self) -> None:
        await self.tasks.shutdown()
        if self.rasa is not None:
            await self.rasa.close()
        self.store.dispose()
