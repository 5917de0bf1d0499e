"""Agent accounts: bcrypt password hashes (passlib), authentication and the seeded demo accounts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from passlib.context import CryptContext

from hub.exceptions import NotAuthenticated, ValidationFailed
from hub.services.clock import Clock
from hub.storage import Agent, Store

log = logging.getLogger(__name__)

ROLES = ("agent", "trainer")
SKILLS = ("loan", "account", "complaint", "interpreter")


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    display_name: str
    role: str
    skills: tuple[str, ...]
    capacity: int


# Demo accounts created when KEFU_HUB_SEED_DEMO is on (the default). Change or disable them in production.
DEMO_ACCOUNTS = (
    DemoAccount("agent1", "kefu-agent1", "张敏", "agent", ("loan", "account", "complaint"), 3),
    DemoAccount("agent2", "kefu-agent2", "李强", "agent", ("loan", "account"), 2),
    DemoAccount("interpreter1", "kefu-interpreter1", "王芳（手语）", "agent", ("interpreter",), 1),
    DemoAccount("trainer1", "kefu-trainer1", "陈老师（训练师）", "trainer", (), 0),
)


class AgentAccounts:
    def __init__(self, store: Store, clock: Clock, *, bcrypt_rounds: int) -> None:
        self.store = store
        self.clock = clock
        self._crypt = CryptContext(schemes=["bcrypt"], deprecated="auto", bcrypt__rounds=bcrypt_rounds)
        # Verified against when the user name is unknown, so both failures take the same time.
        self._dummy_hash = self._crypt.hash("not-a-real-password")

    def create(
        self,
        username: str,
        password: str,
        *,
        display_name: str,
        role: str = "agent",
        skills: Sequence[str] = (),
        capacity: int = 3,
    ) -> Agent:
        if role not in ROLES:
            raise ValidationFailed(f"unknown role {role!r}")
        unknown = [s for s in skills if s not in SKILLS]
        if unknown:
            raise ValidationFailed(f"unknown skills {unknown}")
        if len(password) < 8:
            raise ValidationFailed("password must have at least 8 characters")
        with self.store.transaction() as tx:
            return tx.insert_agent(
                username,
                display_name=display_name,
                password_hash=self._crypt.hash(password),
                role=role,
                skills=skills,
                capacity=capacity,
                now=self.clock.now(),
            )

    def authenticate(self, username: str, password: str) -> Agent:
        with self.store.transaction() as tx:
            agent = tx.agent(username)
        if agent is None:
            self._crypt.verify(password, self._dummy_hash)
            raise NotAuthenticated("用户名或密码错误。")
        if not self._crypt.verify(password, agent.password_hash):
            raise NotAuthenticated("用户名或密码错误。")
        return agent

    def get(self, agent_id: str) -> Agent | None:
        with self.store.transaction() as tx:
            return tx.agent(agent_id)

    def all(self) -> list[Agent]:
        with self.store.transaction() as tx:
            return tx.all_agents()

    def seed_demo(self) -> list[str]:
        """Create the demo accounts that do not exist yet; returns the names created."""
        created = []
        for account in DEMO_ACCOUNTS:
            if self.get(account.username) is None:
                self.create(
                    account.username,
                    account.password,
                    display_name=account.display_name,
                    role=account.role,
                    skills=account.skills,
                    capacity=account.capacity,
                )
                created.append(account.username)
        if created:
            log.info("created demo accounts: %s", ", ".join(created))
        return created
